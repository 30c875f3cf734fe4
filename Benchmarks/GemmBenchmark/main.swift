// The packed AVX-512 kernel (PackedLinear) against OpenBLAS (`linear`: weights repacked on
// every call) on the wav2vec2-base linear layers and a feature-encoder convolution, in GFLOPS per core (floating-point operations
// per second of processor time, summed over the threads), on 1 and 2 threads.
//
//     scripts/bench_gemm [--rows 49 249 499 1499] [--repeat N] [--attention] [--stream] [--amx]
//
// --amx: the AMX path (EMOBAKE_AMX=1, bf16 x 3 with the operands split on every call) against
// the AVX-512 kernel on the products that would take it (the 512-channel convolutions, and the
// transformer's layers for each --rows of at least 384; default 499 and 1499).
//
// Each figure is the best of `repeat` timed batches of calls (after one warm-up call); the
// modes alternate per shape so that they share the machine's noise. It also checks that the
// packed results are the same bit for bit on 1 and 2 threads.
import Foundation
import Neural

var rowsList = [49, 249, 499, 1499]
var attentionOnly = false
var repeatCount = 5
var streamOnly = false
var amxOnly = false
var arguments = Array(CommandLine.arguments.dropFirst())
while !arguments.isEmpty {
    let flag = arguments.removeFirst()
    switch flag {
    case "--rows":
        rowsList = []
        while let next = arguments.first, let value = Int(next) {
            rowsList.append(value)
            arguments.removeFirst()
        }
    case "--attention":
        attentionOnly = true
    case "--stream":
        streamOnly = true
    case "--amx":
        amxOnly = true
    case "--repeat":
        repeatCount = Int(arguments.removeFirst()) ?? repeatCount
    default:
        print("usage: GemmBenchmark [--rows R ...] [--repeat N] [--attention] [--stream] [--amx]")
        exit(2)
    }
}

BLASCore.reexecuteWithBetterKernelsIfNeeded()
guard PackedLinear.kernelAvailable else {
    print("the packed kernel is not available on this CPU (no AVX-512); nothing to compare")
    exit(1)
}

let loadAverage = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
print("load average \(loadAverage); OpenBLAS core \(BLASCore.name)")

var state: UInt64 = 12345
func nextRandom() -> Float {
    state = state &* 6364136223846793005 &+ 1442695040888963407
    return Float(Int32(truncatingIfNeeded: state >> 33)) / Float(Int32.max)
}

/// Seconds of processor time (all threads of the process) per call: the machine is shared, and
/// processor time does not count the time other programs hold the cores (wall time on 2
/// threads is about half of it when both threads keep busy).
func processorSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// Processor seconds per call: best of `repeatCount` batches of calls lasting about 0.1 s each.
func secondsPerCall(_ body: () -> Void) -> Double {
    body()
    let start = processorSeconds()
    body()
    let once = max(1e-6, processorSeconds() - start)
    let calls = max(1, Int(0.1 / once))
    var best = Double.infinity
    for _ in 0..<repeatCount {
        let begin = processorSeconds()
        for _ in 0..<calls { body() }
        best = min(best, (processorSeconds() - begin) / Double(calls))
    }
    return best
}

let shapes = [(2304, 768), (768, 768), (3072, 768), (768, 3072)]

/// Wall seconds of the fastest of `repeatCount` calls (after one warm-up call).
func wallSeconds(_ body: () -> Void) -> Double {
    body()
    var best = Double.infinity
    for _ in 0..<repeatCount {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return best
}

// The transformer's products as a forward pass meets them: 12 layers' own weights (340 MB, more
// than the caches hold), each streamed from memory once per pass. Wall time on 1 and 2 threads,
// GFLOPS and the weights' GB/s; for short clips this, not the compute, sets the pace.
if streamOnly {
    let layers = 12
    let weights = (0..<layers).flatMap { _ in
        shapes.map { output, input in
            PackedLinear(weight: (0..<(output * input)).map { _ in nextRandom() * 0.05 }, bias: (0..<output).map { _ in nextRandom() }, output: output, input: input)
        }
    }
    let bytes = Double(weights.reduce(0) { $0 + $1.weightBytes })
    print("streamed products: rows  threads  wall ms  GFLOPS  weights GB/s  (\(layers) layers, \(Int(bytes / 1e6)) MB of weights)")
    for rows in rowsList {
        let x = (0..<(rows * 3072)).map { _ in nextRandom() }
        var y = [Float](repeating: 0, count: rows * 3072)
        let flops = weights.reduce(0.0) { $0 + 2 * Double(rows * $1.output * $1.input) }
        for threads in [1, 2] {
            RuntimeThreads.configure(threads)
            let seconds = wallSeconds { for layer in weights { layer.apply(x, rows: rows, into: &y) } }
            print("\(rows)  \(threads)  " + String(format: "%.1f  %.1f  %.1f", seconds * 1e3, flops / seconds / 1e9, bytes / seconds / 1e9))
        }
    }
    exit(0)
}

// AMX against the AVX-512 kernel, each shape's two modes timed one after the other.
if amxOnly {
    guard PackedLinear.amxAvailable else {
        print("AMX-BF16 is not available on this CPU: nothing to compare")
        exit(1)
    }
    let rows = CommandLine.arguments.contains("--rows") ? rowsList.filter { $0 >= PackedLinear.amxMinimumRows } : [499, 1499]
    // (label, rows, output, input, row stride): a kernel-3 stride-2 convolution reads its input in place.
    let cases: [(String, Int, Int, Int, Int)] =
        [("conv 512x3 -> 512", 3207, 512, 1536, 1024), ("conv 512x3 -> 512", 1603, 512, 1536, 1024), ("conv 512x3 -> 512", 400, 512, 1536, 1024)]
        + rows.flatMap { rows in shapes.map { ("linear", rows, $0.0, $0.1, $0.1) } }
    print("AMX (operands split into bf16 parts on every call) against the AVX-512 kernel, GFLOPS per core")
    print("product            rows  output  input  threads  AVX-512  AMX     AMX/AVX-512")
    for (label, rows, output, input, lda) in cases {
        let weight = (0..<(output * input)).map { _ in nextRandom() * 0.05 }
        let bias = (0..<output).map { _ in nextRandom() }
        let x = (0..<((rows - 1) * lda + input)).map { _ in nextRandom() }
        var y = [Float](repeating: 0, count: rows * output)
        let layer = PackedLinear(weight: weight, bias: bias, output: output, input: input)
        let flops = 2 * Double(rows * output * input)
        for threads in [1, 2] {
            RuntimeThreads.configure(threads)
            PackedLinear.amxEnabled = false
            let kernel = secondsPerCall { layer.apply(x, lda: lda, rows: rows, into: &y) }
            PackedLinear.amxEnabled = true
            let amx = secondsPerCall { layer.apply(x, lda: lda, rows: rows, into: &y) }
            print(
                label.padding(toLength: 19, withPad: " ", startingAt: 0)
                    + String(format: "%-6d%-8d%-7d%-9d%-9.1f%-8.1f%.2f", rows, output, input, threads, flops / kernel / 1e9, flops / amx / 1e9, kernel / amx))
        }
    }
    exit(0)
}

var identical = true
if !attentionOnly {
    print("GFLOPS per core (per second of processor time)")
    print("rows  output  input  threads  OpenBLAS GFLOPS  packed GFLOPS  packed/OpenBLAS")
}
for rows in attentionOnly ? [] : rowsList {
    for (output, input) in shapes {
        let weight = (0..<(output * input)).map { _ in nextRandom() * 0.05 }
        let bias = (0..<output).map { _ in nextRandom() }
        let x = (0..<(rows * input)).map { _ in nextRandom() }
        var y = [Float](repeating: 0, count: rows * output)
        let packed = PackedLinear(weight: weight, bias: bias, output: output, input: input)
        let flops = 2 * Double(rows * output * input)
        for threads in [1, 2] {
            RuntimeThreads.configure(threads)
            let blas = weight.withUnsafeBufferPointer { w in
                secondsPerCall { linear(x, rows: rows, input: input, weight: w.baseAddress!, bias: bias, output: output, into: &y) }
            }
            let ours = secondsPerCall { packed.apply(x, rows: rows, into: &y) }
            let columns = [rows, output, input, threads].map { String($0) }
            print(
                columns[0].padding(toLength: 6, withPad: " ", startingAt: 0) + columns[1].padding(toLength: 8, withPad: " ", startingAt: 0)
                    + columns[2].padding(toLength: 7, withPad: " ", startingAt: 0) + columns[3].padding(toLength: 9, withPad: " ", startingAt: 0)
                    + String(format: "%-17.1f%-15.1f%.2f", flops / blas / 1e9, flops / ours / 1e9, blas / ours))
        }
        RuntimeThreads.configure(1)
        var one = [Float](repeating: 0, count: rows * output)
        packed.apply(x, rows: rows, into: &one)
        RuntimeThreads.configure(2)
        var two = [Float](repeating: 0, count: rows * output)
        packed.apply(x, rows: rows, into: &two)
        if one != two { identical = false }
    }
}
// Attention's products for one head and block of 128 query rows (1 thread): Q K^T (k = 64) and
// P V (n = 64), operands at the fused QKV matrix's row stride, keys and values packed once per
// head (the packing is timed separately, per block it is a twelfth for 30 s).
print("attention, 1 thread: frames  product  OpenBLAS GFLOPS  packed GFLOPS  packed/OpenBLAS")
RuntimeThreads.configure(1)
for frames in [499, 1499] {
    let width = 2304, head = 64, rows = 128
    let qkv = (0..<(frames * width)).map { _ in nextRandom() }
    var scores = [Float](repeating: 0, count: rows * frames)
    var output = [Float](repeating: 0, count: frames * 768)
    var keys = [Float](repeating: 0, count: PackedProduct.count(columns: frames, depth: head))
    var values = [Float](repeating: 0, count: PackedProduct.count(columns: head, depth: frames))
    PackedProduct.packTransposed(Array(qkv[768...]), ld: width, columns: frames, depth: head, into: &keys)
    PackedProduct.packRows(Array(qkv[1536...]), ld: width, depth: frames, columns: head, into: &values)
    let flops = 2 * Double(rows * frames * head)
    qkv.withUnsafeBufferPointer { q in
        let blasScores = secondsPerCall {
            gemmSingleThreaded(q.baseAddress!, lda: width, q.baseAddress! + 768, ldb: width, &scores, ldc: frames, m: rows, n: frames, k: head, transposeB: true)
        }
        let packedScores = secondsPerCall {
            PackedProduct.multiply(q.baseAddress!, lda: width, keys, into: &scores, ldc: frames, rows: rows, columns: frames, depth: head)
        }
        print("\(frames)  QK^T  " + String(format: "%.1f  %.1f  %.2f", flops / blasScores / 1e9, flops / packedScores / 1e9, blasScores / packedScores))
        let blasOutput = secondsPerCall {
            gemmSingleThreaded(scores, lda: frames, q.baseAddress! + 1536, ldb: width, &output, ldc: 768, m: rows, n: head, k: frames)
        }
        let packedOutput = secondsPerCall {
            PackedProduct.multiply(scores, lda: frames, values, into: &output, ldc: 768, rows: rows, columns: head, depth: frames)
        }
        print("\(frames)  PV    " + String(format: "%.1f  %.1f  %.2f", flops / blasOutput / 1e9, flops / packedOutput / 1e9, blasOutput / packedOutput))
    }
}

// The feature encoder's kernel-3 stride-2 convolution (512 -> 512 channels) on one chunk of 100
// output frames at each layer's length: the packed kernel reads the overlapping rows in place
// (one product, k = 1536), OpenBLAS takes two products (k = 1024 and 512) over the same input.
print("convolution 512 -> 512, kernel 3, stride 2: output frames  threads  OpenBLAS GFLOPS  packed GFLOPS  packed/OpenBLAS")
let convolutionWeight = (0..<(512 * 512 * 3)).map { _ in nextRandom() * 0.05 }
let convolutionBias = (0..<512).map { _ in nextRandom() }
let onKernel = ConvolutionWeights(pytorch: convolutionWeight, outputChannels: 512, inputChannels: 512, kernel: 3, stride: 2, bias: convolutionBias)
let onBLAS = ConvolutionWeights(
    pytorch: convolutionWeight, outputChannels: 512, inputChannels: 512, kernel: 3, stride: 2, bias: convolutionBias, useKernel: false)
for outFrames in attentionOnly ? [] : [3207, 1603, 400] {
    let frames = 2 * outFrames + 1
    let x = (0..<(frames * 512)).map { _ in nextRandom() }
    var y = [Float](repeating: 0, count: outFrames * 512)
    let flops = 2 * Double(outFrames * 512 * 1536)
    for threads in [1, 2] {
        RuntimeThreads.configure(threads)
        let blas = secondsPerCall { convolve(x, frames: frames, weights: onBLAS, into: &y, scratch: nil) }
        let ours = secondsPerCall { convolve(x, frames: frames, weights: onKernel, into: &y, scratch: nil) }
        print("\(outFrames)  \(threads)  " + String(format: "%.1f  %.1f  %.2f", flops / blas / 1e9, flops / ours / 1e9, blas / ours))
    }
}

print(identical ? "packed results identical on 1 and 2 threads: yes" : "packed results identical on 1 and 2 threads: NO")
