import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

extension CoordinatorClient {
    /// URLError codes that mean the TLS handshake or the certificate failed (not the network).
    static let tlsFailures: Set<URLError.Code> = [
        .secureConnectionFailed, .serverCertificateHasBadDate, .serverCertificateUntrusted,
        .serverCertificateHasUnknownRoot, .serverCertificateNotYetValid, .clientCertificateRejected,
        .clientCertificateRequired,
    ]

    typealias Completion = @Sendable (Data?, URLResponse?, (any Error)?) -> Void

    /// Runs one URLSession task and waits for it, cancelling the task as soon as the calling Swift
    /// task is cancelled. A worker told to stop while a connect to an unanswering address is in
    /// flight must not sit out the request timeout (30–90 s): cancellation ends the wait at once.
    ///
    /// Throws `CancellationError` when cancelled, `ClientError.unreachable` for transport failures.
    func perform(_ make: (@escaping Completion) -> URLSessionTask) async throws -> (Data, URLResponse) {
        let handle = TaskHandle()
        let base = baseURL.absoluteString
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (c: CheckedContinuation<(Data, URLResponse), any Error>) in
                    let task = make { data, resp, error in
                        if let error { c.resume(throwing: error) } else if let resp { c.resume(returning: (data ?? Data(), resp)) } else {
                            c.resume(throwing: ClientError.badResponse("no response and no error"))
                        }
                    }
                    handle.start(task)
                }
            } onCancel: {
                handle.cancel()
            }
        } catch let e as ClientError {
            throw e
        } catch {
            if Task.isCancelled || error is CancellationError { throw CancellationError() }
            if let u = error as? URLError {
                if Self.tlsFailures.contains(u.code) || u.localizedDescription.contains("SSL certificate problem") {
                    throw ClientError.tls(url: base, underlying: u.localizedDescription)
                }
                throw ClientError.unreachable(url: base, underlying: u.localizedDescription)
            }
            throw ClientError.unreachable(url: base, underlying: "\(error)")
        }
    }
}

/// The URLSession task of one request, cancellable from any thread; a cancel that arrives before
/// the task exists cancels it as soon as it is started.
final class TaskHandle: @unchecked Sendable {
    private let lock = NSLock()
    private var task: URLSessionTask?
    private var cancelled = false

    func start(_ t: URLSessionTask) {
        lock.lock()
        task = t
        let already = cancelled
        lock.unlock()
        t.resume()
        if already { t.cancel() }
    }

    func cancel() {
        lock.lock()
        cancelled = true
        let t = task
        lock.unlock()
        t?.cancel()
    }
}
