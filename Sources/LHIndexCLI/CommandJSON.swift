// One JSON style for every command's --json output: snake_case keys, sorted, slashes unescaped.
import Foundation

/// The encoder behind every `--json` (ask, build, bench, eval and its --trials-out, info, models, perplexity, trace).
/// Swift's camelCase property names become snake_case keys (`tokensPerSecond` → `tokens_per_second`).
enum CommandJSON {
    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.keyEncodingStrategy = .convertToSnakeCase
        return e
    }
}
