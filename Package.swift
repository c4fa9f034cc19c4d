// swift-tools-version:6.0
// lhindex: LongHeads long-document indexing and question answering on the CPU.
// Targets follow the data: C shims -> core -> model -> (engine, store) -> CLI. Nothing imports upward.
import PackageDescription

/// Optimisation flags for the engine's hot loops (LHEngine): no overflow checks or preconditions in release.
let numericSwiftSettings: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release)),
]
/// Targets that parse files (GGUF, tokenizer, .lhx, SQLite) keep Swift's checks (overflow, preconditions) in
/// release builds too: `lhindex bench` measured no difference (pp512 394-397 against 335-429 tok/s, tg128
/// 140-167 against 149-154, alternating, 2026-12-03); their hot loops are C kernels.
let parsingSwiftSettings: [SwiftSetting] = [
    .unsafeFlags(["-wmo"], .when(configuration: .release)),
]

let package = Package(
    name: "lhindex",
    products: [
        .executable(name: "lhindex", targets: ["lhindex"]),
        .executable(name: "lhindex-fuzz", targets: ["lhindex-fuzz"]),
        .library(name: "LHModel", targets: ["LHModel"]),
        .library(name: "LHEngine", targets: ["LHEngine"]),
    ],
    dependencies: [],
    targets: [
        // C libraries from Debian, found through pkg-config.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        // Line editing and history for the interactive `lhindex ask` (BSD licensed).
        .systemLibrary(name: "CEdit", path: "Sources/CEdit", pkgConfig: "libedit",
                       providers: [.apt(["libedit-dev"])]),
        // Hand-written hot kernels (quantized dot products, thread pool); see the header for why C.
        .target(name: "CKernels", path: "Sources/CKernels",
                cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]),
        // Errors, memory maps, half floats: shared by every Swift target.
        .target(name: "LHCore", dependencies: [], path: "Sources/LHCore",
                swiftSettings: parsingSwiftSettings),
        // GGUF reader, tokenizer, LLaMA forward pass, sampling.
        .target(name: "LHModel", dependencies: ["LHCore", "CBLAS", "CKernels"], path: "Sources/LHModel",
                swiftSettings: parsingSwiftSettings),
        // LongHeads: chunked key/value storage, chunk summaries, per-head chunk selection, window attention.
        .target(name: "LHEngine", dependencies: ["LHCore", "LHModel", "CKernels"], path: "Sources/LHEngine",
                swiftSettings: numericSwiftSettings),
        // The .lhx index: zstd frames per (layer, KV head, chunk), mapped seek table and summaries, SQLite metadata.
        .target(name: "LHStore", dependencies: ["LHCore", "LHModel", "LHEngine", "CZstd", "CSQLite", "CKernels"],
                path: "Sources/LHStore", swiftSettings: parsingSwiftSettings),
        // The evaluations (pass key, needle, sweeps): tasks and their runner over the engine. Only `lhindex eval`
        // and `trace` use them; the product path (build, ask) does not.
        .target(name: "LHEval", dependencies: ["LHCore", "LHModel", "LHEngine", "LHStore"], path: "Sources/LHEval",
                swiftSettings: parsingSwiftSettings),
        // Command-line commands, as a library so tests can drive them.
        .target(name: "LHIndexCLI", dependencies: ["LHCore", "LHModel", "LHEngine", "LHStore", "LHEval", "CEdit"], path: "Sources/LHIndexCLI"),
        .executableTarget(name: "lhindex", dependencies: ["LHIndexCLI"], path: "Sources/lhindex"),
        // libFuzzer targets (GGUF reader, tokenizer, .lhx reader) for `make fuzz`, built with -DFUZZING there;
        // otherwise a driver that replays inputs and writes the seed corpus of Fixtures/fuzz.
        .executableTarget(name: "lhindex-fuzz", dependencies: ["LHIndexCLI", "LHStore", "LHModel", "LHCore", "LHTestSupport"],
                          path: "Fuzz"),
        // Test helpers: a GGUF writer, the tiny random model and its reference forward pass, paths.
        .target(name: "LHTestSupport", dependencies: ["LHModel"], path: "Tests/Support"),
        .testTarget(name: "LHModelTests", dependencies: ["LHModel", "LHCore", "CKernels", "LHTestSupport"],
                    path: "Tests/LHModelTests"),
        .testTarget(name: "LHEngineTests", dependencies: ["LHEngine", "LHModel", "LHCore", "LHTestSupport"],
                    path: "Tests/LHEngineTests"),
        .testTarget(name: "LHEvalTests", dependencies: ["LHEval", "LHStore", "LHEngine", "LHModel", "LHCore", "LHTestSupport"],
                    path: "Tests/LHEvalTests"),
        .testTarget(name: "LHStoreTests", dependencies: ["LHStore", "LHEngine", "LHModel", "LHCore", "LHTestSupport"],
                    path: "Tests/LHStoreTests"),
        .testTarget(name: "CLITests", dependencies: ["LHIndexCLI", "LHTestSupport"], path: "Tests/CLITests"),
    ]
)
