// swift-tools-version: 6.0
import PackageDescription

// Dependencies point one way, down this file: a target imports only targets above it.

// MARK: - C libraries from the distribution (module.modulemap + shim.h, no C code)

let systemLibraries: [Target] = [
    .systemLibrary(name: "CSndFile", pkgConfig: "sndfile", providers: [.apt(["libsndfile1-dev"])]),
    .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
    .systemLibrary(name: "CJSONC", pkgConfig: "json-c", providers: [.apt(["libjson-c-dev"])]),
    .systemLibrary(name: "CSoxr", pkgConfig: "soxr", providers: [.apt(["libsoxr-dev"])]),
]

/// Vector extensions for the Neural kernels on x86-64 hosts (the manifest is compiled for the
/// host, so a native build gets them and an arm64 build does not). `emobake` checks the CPU at
/// start-up (EmoBake.requireVectorExtensions) and refuses to run, with a one-line message,
/// on an x86-64 CPU without them.
#if arch(x86_64)
let neuralCodeGeneration: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma"])]
#else
let neuralCodeGeneration: [SwiftSetting] = []
#endif

// MARK: - Foundation layer: shared plumbing and the wrappers around the C libraries

let foundationLayer: [Target] = [
    .target(name: "Common"),
    .target(name: "JSONIO", dependencies: ["Common", "CJSONC"]),
    .target(name: "XMLIO", dependencies: ["Common", "CLibXML2"]),
    .target(name: "AudioIO", dependencies: ["Common", "CSndFile", "CSoxr"]),
    // Our own C: the AVX-512 matrix-product kernel over weights packed at load (imported by
    // Neural only). Built without AVX-512 flags: its vector functions carry the target
    // attribute and run only when the CPU has AVX-512 (checked at run time). Optimised in
    // debug builds too, like Neural.
    .target(name: "CKernels", cSettings: [.unsafeFlags(["-O2"])]),
    // Kernels are optimised even in debug builds: unoptimised SIMD loops make the test suite crawl.
    // On x86-64 they are compiled for AVX2 + FMA (x86-64-v3: Intel since 2013, AMD since 2015):
    // the softmax and GELU loops run 8 lanes wide instead of SSE's 4 (see neuralCodeGeneration).
    .target(
        name: "Neural", dependencies: ["Common", "JSONIO", "COpenBLAS", "CKernels"],
        swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))] + neuralCodeGeneration),
]

// MARK: - Emotion: tracks, recognition, training

let emotionLayer: [Target] = [
    .target(name: "EmotionCore", dependencies: ["Common", "JSONIO"]),
    .target(name: "Recognition", dependencies: ["Common", "JSONIO", "AudioIO", "Neural", "EmotionCore"]),
    .target(name: "Training", dependencies: ["Common", "JSONIO", "AudioIO", "Neural", "EmotionCore", "Recognition"]),
]

// MARK: - Animation: curves and exporters

let animationLayer: [Target] = [
    .target(name: "Curves", dependencies: ["Common", "JSONIO", "EmotionCore"]),
    .target(name: "ExportKit", dependencies: ["Common", "EmotionCore", "Curves"], path: "Exporters/ExportKit"),
    .target(name: "GLTFExport", dependencies: ["Common", "JSONIO", "Curves", "ExportKit"], path: "Exporters/GLTFExport"),
    .target(name: "FBXExport", dependencies: ["Common", "Curves", "ExportKit"], path: "Exporters/FBXExport"),
    .target(name: "CSVExport", dependencies: ["Common", "Curves", "ExportKit"], path: "Exporters/CSVExport"),
    .target(
        name: "XMLTimelineExport", dependencies: ["Common", "XMLIO", "EmotionCore", "Curves", "ExportKit"],
        path: "Exporters/XMLTimelineExport", resources: [.copy("timeline.xsd")]),
    // The one place that maps an export format to its exporter.
    .target(
        name: "ExportFormats",
        dependencies: ["ExportKit", "GLTFExport", "FBXExport", "CSVExport", "XMLTimelineExport"],
        path: "Exporters/ExportFormats"),
]

// MARK: - Batch baking and the command line

let applicationLayer: [Target] = [
    .target(
        name: "Batch",
        dependencies: [
            "Common", "JSONIO", "XMLIO", "AudioIO", "EmotionCore", "Recognition", "Curves", "ExportKit",
            "ExportFormats",
        ],
        exclude: ["scene-timeline.xsd"]),
    .executableTarget(
        name: "emobake",
        dependencies: [
            "Common", "JSONIO", "AudioIO", "Neural", "EmotionCore", "Recognition", "Training", "Curves",
            "ExportKit", "ExportFormats", "Batch",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
]

// MARK: - Benchmarks: commands that print figures (scripts/bench_*, results in BENCHMARKS.md)

let benchmarks: [Target] = [
    .executableTarget(name: "CurvesBenchmark", dependencies: ["Common", "EmotionCore", "Curves"], path: "Benchmarks/CurvesBenchmark"),
    .executableTarget(
        name: "ExportBenchmark", dependencies: ["Common", "EmotionCore", "Curves", "ExportKit", "ExportFormats"],
        path: "Benchmarks/ExportBenchmark"),
    .executableTarget(name: "GemmBenchmark", dependencies: ["Neural"], path: "Benchmarks/GemmBenchmark"),
]

// MARK: - Tests: one target per module, a shared support target, end-to-end CLI tests

let tests: [Target] = [
    .target(name: "TestSupport", dependencies: ["Common"], path: "Tests/TestSupport"),
    .testTarget(name: "CommonTests", dependencies: ["Common", "TestSupport"]),
    .testTarget(name: "JSONIOTests", dependencies: ["JSONIO", "TestSupport"]),
    .testTarget(name: "XMLIOTests", dependencies: ["XMLIO", "TestSupport"]),
    .testTarget(name: "AudioIOTests", dependencies: ["AudioIO", "TestSupport"]),
    .testTarget(name: "NeuralTests", dependencies: ["Neural", "TestSupport"]),
    .testTarget(name: "EmotionCoreTests", dependencies: ["EmotionCore", "TestSupport"]),
    .testTarget(name: "RecognitionTests", dependencies: ["Recognition", "Neural", "AudioIO", "TestSupport"]),
    .testTarget(name: "TrainingTests", dependencies: ["Training", "Recognition", "Neural", "TestSupport"]),
    .testTarget(name: "CurvesTests", dependencies: ["Curves", "EmotionCore", "TestSupport"]),
    .testTarget(
        name: "ExportTests",
        dependencies: [
            "Common", "ExportKit", "ExportFormats", "GLTFExport", "FBXExport", "CSVExport", "XMLTimelineExport", "Curves",
            "EmotionCore", "XMLIO", "JSONIO", "TestSupport",
        ]),
    .testTarget(name: "BatchTests", dependencies: ["Batch", "AudioIO", "EmotionCore", "ExportKit", "JSONIO", "TestSupport"]),
    .testTarget(name: "EndToEndTests", dependencies: ["emobake", "TestSupport"]),
]

let package = Package(
    name: "EmoBake",
    platforms: [.macOS(.v14)],
    products: [.executable(name: "emobake", targets: ["emobake"])],
    dependencies: [.package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")],
    targets: systemLibraries + foundationLayer + emotionLayer + animationLayer + applicationLayer + benchmarks + tests,
    swiftLanguageModes: [.v5]
)
