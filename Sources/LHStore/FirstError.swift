// The first error met by code that cannot throw (a store's block reads, a corpus table's fill), kept for the caller.
import Foundation
import LHCore

/// Holds the first error recorded until `take` clears it; safe to use from the pool's threads.
final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private var error: LHError?

    /// Keeps `error` unless one is held already.
    func record(_ error: LHError) {
        lock.lock(); defer { lock.unlock() }
        if self.error == nil { self.error = error }
    }

    /// The error held, if any, cleared by the call.
    func take() -> LHError? {
        lock.lock(); defer { lock.unlock() }
        let e = error
        error = nil
        return e
    }
}
