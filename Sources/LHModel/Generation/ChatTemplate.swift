// The model's chat format, recognised from its GGUF chat template, as text before and after a user turn.
import Foundation

/// How a model wants a user turn wrapped. Derived from `tokenizer.chat_template`, never hard-coded per call site.
public enum ChatTemplate: Sendable, Equatable {
    /// ChatML (`<|im_start|>role\n…<|im_end|>\n`), e.g. SmolLM2, Qwen. `defaultSystem` is the
    /// system message the template inserts when none is given.
    case chatML(defaultSystem: String?)
    /// Llama 3 headers (`<|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|>`; BOS comes from the tokenizer).
    case llama3
    /// Gemma turns (`<start_of_turn>user\n…<end_of_turn>\n<start_of_turn>model\n`); a system message opens the
    /// user turn, as Gemma's template does.
    case gemma
    /// Mistral / Llama 2 instructions (`[INST] … [/INST]`); a system message opens the instruction.
    case mistral
    /// A base model without a template: plain text.
    case none

    /// Recognises the template text stored in a GGUF file.
    public init(templateText: String?) {
        guard let t = templateText else { self = .none; return }
        if t.contains("<|im_start|>") {
            var system: String? = nil
            if let r = t.range(of: "<|im_start|>system\\n"), let end = t[r.upperBound...].range(of: "<|im_end|>") {
                system = String(t[r.upperBound..<end.lowerBound])
            } else if let r = t.range(of: "<|im_start|>system\n"), let end = t[r.upperBound...].range(of: "<|im_end|>") {
                system = String(t[r.upperBound..<end.lowerBound])
            }
            self = .chatML(defaultSystem: system)
        } else if t.contains("<|start_header_id|>") {
            self = .llama3
        } else if t.contains("<start_of_turn>") {
            self = .gemma
        } else if t.contains("[INST]") {
            self = .mistral
        } else {
            self = .none
        }
    }

    /// Text that opens a user turn (everything before the user's content), including any system turn.
    public func userPrefix(system: String? = nil) -> String {
        switch self {
        case let .chatML(defaultSystem):
            let sys = system ?? defaultSystem
            return (sys.map { "<|im_start|>system\n\($0)<|im_end|>\n" } ?? "") + "<|im_start|>user\n"
        case .llama3:
            let sys = system.map { "<|start_header_id|>system<|end_header_id|>\n\n\($0)<|eot_id|>" } ?? ""
            return sys + "<|start_header_id|>user<|end_header_id|>\n\n"
        case .gemma:
            return "<start_of_turn>user\n" + (system.map { $0 + "\n\n" } ?? "")
        case .mistral:
            return "[INST] " + (system.map { $0 + "\n\n" } ?? "")
        case .none:
            return ""
        }
    }

    /// Text that closes the user turn and opens the assistant's reply. A base model gets the plain cue
    /// "\nAnswer:" (without it, a 270M base model asked after 32k tokens of filler went on with the filler).
    public var assistantPrefix: String {
        switch self {
        case .chatML: return "<|im_end|>\n<|im_start|>assistant\n"
        case .llama3: return "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
        case .gemma: return "<end_of_turn>\n<start_of_turn>model\n"
        case .mistral: return " [/INST]"
        case .none: return "\n\nAnswer:"
        }
    }

    /// A whole single-turn prompt: prefix, the user's text, and the assistant opener.
    public func wrap(_ user: String, system: String? = nil) -> String {
        userPrefix(system: system) + user + assistantPrefix
    }
}
