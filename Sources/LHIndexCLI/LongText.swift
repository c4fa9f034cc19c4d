// The long real text that `make text` fetches for the needle and perplexity evaluations.

/// Where `scripts/fetch-text.sh` puts the Debian Policy Manual inside the lhindex cache.
enum LongText {
    static let fileName = "debian-policy-4.6.2.0.txt"
}
