// libFuzzer entry points for the GGUF reader, the tokenizer and the .lhx reader; without FUZZING, a replay driver and the seed writer.
import Foundation
import LHCore
import LHIndexCLI
import LHModel
import LHStore
import LHTestSupport

/// The three fuzz targets, chosen by `LHINDEX_FUZZ_TARGET` (gguf, tokenizer, lhx). An input that makes a
/// target crash, trap or trip AddressSanitizer is a bug; errors thrown as `LHError` are the expected outcome.
enum Fuzz {
    /// Scratch files of this process, on tmpfs when there is one.
    static let scratch: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let d = base + "/lhindex-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: Fuzz.scratch) }
        return d
    }()

    static func write(_ bytes: UnsafeRawBufferPointer, to path: String) {
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }

    /// GGUF reader, hyperparameter checks, weight table and tokenizer construction.
    static func gguf(_ input: UnsafeRawBufferPointer) {
        let path = scratch + "/model.gguf"
        write(input, to: path)
        guard let lm = try? LanguageModel(path: path) else { return }
        _ = lm.tokenizer.decode(lm.tokenizer.encode("Hello <|im_start|> wörld 123", parseSpecial: true))
    }

    /// The tokenizer of the default model (or the tiny test model when it is not installed). Checks that
    /// the bytes of the tokens of any text are the text's bytes, but for bytes the vocabulary has no token
    /// of (SmolLM2 has none for 0x04, 0x06, 0x13, 0x14, 0x16, 0x1D and some bytes above 0x7F: they are
    /// dropped, as llama.cpp drops them; found by this target).
    nonisolated(unsafe) static var languageModel: LanguageModel?
    nonisolated(unsafe) static var spellable = [Bool](repeating: false, count: 256)
    static func tokenizer(_ input: UnsafeRawBufferPointer) {
        if languageModel == nil {
            var path = ModelLocator.defaultPath
            if !FileManager.default.fileExists(atPath: path) { path = try! TinyModel.write(seed: 3) }
            languageModel = try! LanguageModel(path: path)
            let tk = languageModel!.tokenizer
            for t in 0..<tk.vocabularySize where tk.tokenBytes(Int32(t)).count == 1 { spellable[Int(tk.tokenBytes(Int32(t))[0])] = true }
        }
        let tk = languageModel!.tokenizer
        let text = String(decoding: input, as: UTF8.self)
        let plain = tk.encode(text, parseSpecial: false)
        let back = plain.flatMap { tk.tokenBytes($0) }
        let expected = text.utf8.filter { spellable[Int($0)] }
        if back != expected { fatalError("token bytes != text bytes for \(Array(text.utf8)): \(back)") }
        _ = tk.decode(plain)
        var stream = StreamingDecoder(tokenizer: tk)
        var streamed = ""
        for t in tk.encode(text, parseSpecial: true) { streamed += stream.append(t) }
        _ = streamed + stream.finish()
        sentencePiece(text)
    }

    /// With llama.cpp's Llama 2 test vocabulary (`make vocab`; skipped without it): SentencePiece with
    /// byte fallback spells any text, so the tokens' bytes are the text's bytes after the space prefix,
    /// every "▁" reading as a space.
    nonisolated(unsafe) static var spm: Tokenizer??
    static func sentencePiece(_ text: String) {
        if spm == nil {
            let path = ModelLocator.home + "/vocab/ggml-vocab-llama-spm.gguf"
            spm = .some(FileManager.default.fileExists(atPath: path) ? try! Tokenizer(gguf: GGUFFile(path: path, metadataOnly: true)) : nil)
        }
        guard let tk = spm!, !text.isEmpty else { return }
        let back = tk.encode(text, parseSpecial: false).flatMap { tk.tokenBytes($0) }
        let expected = Array((" " + text).replacingOccurrences(of: "\u{2581}", with: " ").utf8)
        if back != expected { fatalError("SentencePiece token bytes != text bytes for \(Array(text.utf8)): \(back)") }
        var stream = StreamingDecoder(tokenizer: tk)
        var streamed = ""
        for t in tk.encode(text, addSpecial: true, parseSpecial: true) { streamed += stream.append(t) }
        _ = streamed + stream.finish()
    }

    /// A whole bundle, serialized as records `u8 file | u32 LE length | bytes` (file indexes `bundleFiles`),
    /// checked by `IndexVerifier` (index.sqlite, headers, chunk table, every frame, tail, source).
    static let bundleFiles = BundleFormat.files + [BundleFormat.representativesFile]
    static func lhx(_ input: UnsafeRawBufferPointer) {
        let dir = scratch + "/fuzz.lhx"
        try? FileManager.default.removeItem(atPath: dir)
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var i = 0
        while i + 5 <= input.count {
            let file = Int(input[i]) % bundleFiles.count
            let n = min(Int(input.loadUnaligned(fromByteOffset: i + 1, as: UInt32.self).littleEndian), input.count - i - 5)
            write(UnsafeRawBufferPointer(rebasing: input[(i + 5)..<(i + 5 + n)]), to: dir + "/" + bundleFiles[file])
            i += 5 + n
        }
        _ = IndexVerifier.verify(directory: dir)
    }

    /// Serializes the bundle at `directory` for `lhx`.
    static func serialize(bundle directory: String) throws -> Data {
        var out = Data()
        for (i, f) in bundleFiles.enumerated() where FileManager.default.fileExists(atPath: directory + "/" + f) {
            let d = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + f))
            out.append(UInt8(i))
            withUnsafeBytes(of: UInt32(d.count).littleEndian) { out.append(contentsOf: $0) }
            out.append(d)
        }
        return out
    }

    static func run(_ target: String, _ input: UnsafeRawBufferPointer) {
        switch target {
        case "gguf": gguf(input)
        case "tokenizer": tokenizer(input)
        case "lhx": lhx(input)
        default: fatalError("LHINDEX_FUZZ_TARGET must be gguf, tokenizer or lhx, not '\(target)'")
        }
    }

    static var target: String { ProcessInfo.processInfo.environment["LHINDEX_FUZZ_TARGET"] ?? "" }
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Fuzz.run(Fuzz.target, UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
#else
/// `lhindex-fuzz TARGET FILE...` runs the target on each file (a crash reproduces a finding);
/// `lhindex-fuzz seeds DIR` writes the seed corpus (DIR/gguf, DIR/tokenizer, DIR/lhx).
@main
struct Replay {
    static func main() throws {
        let args = Array(CommandLine.arguments.dropFirst())
        guard args.count >= 2 else {
            print("usage: lhindex-fuzz gguf|tokenizer|lhx FILE...  |  lhindex-fuzz seeds DIR")
            exit(64)
        }
        if args[0] == "seeds" { try writeSeeds(args[1]); return }
        for f in args.dropFirst() {
            let d = try Data(contentsOf: URL(fileURLWithPath: f))
            d.withUnsafeBytes { Fuzz.run(args[0], $0) }
            print("ok \(f)")
        }
    }

    static func writeSeeds(_ dir: String) throws {
        let fm = FileManager.default
        for t in ["gguf", "tokenizer", "lhx"] { try fm.createDirectory(atPath: dir + "/" + t, withIntermediateDirectories: true) }
        let model = try TinyModel.write(seed: 3)
        try fm.copyItem(atPath: model, toPath: dir + "/gguf/tiny")
        let texts = ["Hello, world!\n", "The pass key is 4242.\n\n  indented\tand tabs  ",
                     "<|im_start|>user\nWhat?<|im_end|>\n", "naïve café – 東京 🙂 \u{301}e", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1234567890 '' \"\""]
        for (i, t) in texts.enumerated() { try Data(t.utf8).write(to: URL(fileURLWithPath: dir + "/tokenizer/text\(i)")) }
        let doc = Fuzz.scratch + "/doc.txt", out = Fuzz.scratch + "/out"
        try Data(String(repeating: "The river runs past the stone.\n", count: 6).utf8).write(to: URL(fileURLWithPath: doc))
        for (name, extra) in [("bundle", [String]()), ("bundle-int8-reps", ["--kv", "int8", "--representatives", "2"])] {
            let status = LHIndexCLI.main(["build", doc, "-m", model, "-o", out + name, "--chunk-size", "16", "--attn-length", "64"] + extra)
            guard status == 0 else { throw LHError.invalidInput("building the seed bundle failed") }
            try Fuzz.serialize(bundle: out + name + "/doc.txt.lhx").write(to: URL(fileURLWithPath: dir + "/lhx/" + name))
        }
    }
}
#endif
