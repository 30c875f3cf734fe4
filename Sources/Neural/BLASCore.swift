import COpenBLAS
import Foundation

/// OpenBLAS picks its kernels from the CPU model at load time. Version 0.3.21 (Debian 12) does
/// not know CPUs newer than Sapphire Rapids (for example Emerald Rapids, model 207) and falls
/// back to its oldest x86-64 kernels ("Prescott", SSE3): sgemm runs about 10 times slower.
/// `OPENBLAS_CORETYPE` overrides the choice, but only before the library loads, so a program
/// that finds the fallback on a CPU with AVX-512 (or AVX2) re-executes itself once with the
/// variable set.
public enum BLASCore {
    /// The kernel family OpenBLAS chose, e.g. "Cooperlake", "Haswell", "Prescott".
    public static var name: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// A better `OPENBLAS_CORETYPE` for this CPU when OpenBLAS fell back to Prescott; nil otherwise.
    public static func betterCoreType() -> String? {
        guard name.lowercased() == "prescott" else { return nil }
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return nil }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]) { return "SkylakeX" }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    /// Re-executes the current program with `OPENBLAS_CORETYPE` set when that gives faster
    /// kernels; returns (doing nothing) when the variable is already set, the choice is fine,
    /// or the re-execution is impossible.
    public static func reexecuteWithBetterKernelsIfNeeded() {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil, let core = betterCoreType() else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        var arguments = CommandLine.arguments.map { strdup($0) }
        arguments.append(nil)
        execv("/proc/self/exe", &arguments)
        // execv returned: it failed; go on with the slow kernels.
        unsetenv("OPENBLAS_CORETYPE")
    }
}
