import Foundation

/// OpenBLAS's kernel choice on machines whose CPU model is hidden.
///
/// Debian's OpenBLAS is built with DYNAMIC_ARCH: at load time it picks kernels from the CPU's
/// family and model. In virtual machines that report a generic model ("Intel Xeon
/// Processor") it falls back to its oldest x86-64 kernel, Prescott (SSE3), even when the CPU
/// has AVX-512: measured here, sgemm runs 5x slower (9 vs 45 GFLOPS on one thread). The
/// choice is made once, before any of our code runs, and only the environment variable
/// OPENBLAS_CORETYPE overrides it, so the one remedy is to restart the process with it set.
public enum OpenBLASCore {
    /// The kernel family OpenBLAS chose ("Prescott", "SkylakeX", ...), or nil if unknown.
    public static var current: String? {
        #if os(Linux)
        let everywhere: UnsafeMutableRawPointer? = nil  // RTLD_DEFAULT
        #else
        let everywhere = UnsafeMutableRawPointer(bitPattern: -2)  // RTLD_DEFAULT
        #endif
        guard let symbol = dlsym(everywhere, "openblas_get_corename") else { return nil }
        typealias CoreName = @convention(c) () -> UnsafePointer<CChar>?
        guard let name = unsafeBitCast(symbol, to: CoreName.self)() else { return nil }
        return String(cString: name)
    }

    /// The best kernel family the CPU flags in /proc/cpuinfo support, or nil.
    static var supported: String? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return nil }
        let flags = Set(line.split(separator: " ").map(String.init))
        if flags.contains("avx512f") && flags.contains("avx512bw") && flags.contains("avx512vl") {
            return flags.contains("avx512_bf16") ? "Cooperlake" : "SkylakeX"
        }
        if flags.contains("avx2") && flags.contains("fma") { return "Haswell" }
        return nil
    }

    /// When OpenBLAS fell back to a generic kernel that the CPU outgrows and
    /// OPENBLAS_CORETYPE is unset, restarts this program (same arguments) with it set to the
    /// kernel the CPU supports; otherwise returns. Set EMOBAKE_KEEP_BLAS_CORE=1 to opt out.
    public static func restartWithOptimizedKernelsIfNeeded() {
        let environment = ProcessInfo.processInfo.environment
        guard environment["OPENBLAS_CORETYPE"] == nil, environment["EMOBAKE_KEEP_BLAS_CORE"] == nil else { return }
        let generic: Set<String> = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Unknown"]
        guard let current, generic.contains(current), let better = supported else { return }
        setenv("OPENBLAS_CORETYPE", better, 1)
        let arguments = CommandLine.arguments
        var pointers: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        pointers.append(nil)
        execv("/proc/self/exe", &pointers)
        // execv returned: it failed; carry on with the slow kernels.
        for pointer in pointers { free(pointer) }
        unsetenv("OPENBLAS_CORETYPE")
    }
}
