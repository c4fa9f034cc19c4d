// LLaMA (Llama 2 and 3, Mistral, SmolLM, TinyLlama): the baseline the other architectures differ from.
// RoPE scaling: `linear` (positions divided by rope.scaling.factor) and Llama 3's per-frequency factors
// (the `rope_freqs.weight` tensor the converter writes) are read by LlamaConfig and RoPE; YaRN is refused.

extension ModelArchitecture {
    /// Plain pre-norm SwiGLU decoder with adjacent-pair RoPE (the converter permutes Q/K rows for it).
    static let llamaTraits = Traits()
}
