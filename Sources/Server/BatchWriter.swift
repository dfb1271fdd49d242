import Foundation

/// The database's writing connection on its own thread: one transaction at a time, in order.
final class BatchWriter: @unchecked Sendable {
    // Only touched on `queue`.
    private let store: Store
    private let queue = DispatchQueue(label: "deborgen.coordinator.writer")

    init(_ store: Store) { self.store = store }

    /// Applies one batch in one transaction; nil on success.
    func write(_ batch: [Change]) async -> (any Error)? {
        await withCheckedContinuation { (c: CheckedContinuation<(any Error)?, Never>) in
            queue.async {
                do {
                    try self.store.apply(batch)
                    c.resume(returning: nil)
                } catch {
                    c.resume(returning: error)
                }
            }
        }
    }

    func close() { queue.sync { store.close() } }
}
