// Keeps OpenBLAS single-threaded: lhindex parallelises around BLAS calls with its own pool.
import CBLAS

/// OpenBLAS threading control.
public enum BLASThreads {
    /// Makes every sgemm run on its calling thread. Called once when a model is loaded.
    public static func useCallerThreadOnly() {
        openblas_set_num_threads(1)
    }
}
