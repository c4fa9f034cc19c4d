// The lhindex executable: everything lives in LHIndexCLI so tests can drive it.
import Foundation
import LHIndexCLI

// OpenBLAS starts one worker thread per core when it is loaded, before main, and each worker allocates a
// 128 MB buffer; under a tight 'ulimit -v' that allocation fails and the worker retries forever (exit then
// waits for it: a hang). lhindex runs every BLAS call on its calling thread anyway (BLASThreads), so the
// process is started again once with OPENBLAS_NUM_THREADS=1, which starts no workers. Same results.
if ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] != "1" {
    setenv("OPENBLAS_NUM_THREADS", "1", 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)   // returns only on failure: carry on as we are
}

exit(LHIndexCLI.main(Array(CommandLine.arguments.dropFirst())))
