import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a child process ended, with its resource usage from `wait4`.
public struct Termination: Sendable, Equatable {
    /// The exit status when it exited, nil when a signal ended it.
    public var exitCode: Int32?
    /// The signal that ended it, if any.
    public var signal: Int32?
    public var wallSeconds: Double
    /// User + system CPU time of the process and the descendants it waited for.
    public var cpuSeconds: Double
    /// Peak memory in KiB: the largest resident size of the process group seen by sampling
    /// /proc (every 100–250 ms), or the main process's own high-water mark if larger.
    /// (`ru_maxrss` is not used: on Linux it starts from the spawning worker's own RSS.)
    public var maxRSSKB: Int
    /// A shell-style code: the exit status, or 128 + signal.
    public var shellCode: Int { exitCode.map(Int.init) ?? 128 + Int(signal ?? 0) }
}

/// A small lock around a value (no Foundation `NSLock` ceremony at call sites).
public final class WorkerLocked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    public init(_ v: Value) { value = v }
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock(); defer { lock.unlock() }
        return try body(&value)
    }
}

/// Spawns commands with `posix_spawn` in a process group of their own (so a timeout or a lost lease
/// kills everything they started), stdout and stderr merged into one pipe read on a dedicated
/// thread, every other descriptor closed on exec and every signal disposition reset to default
/// (the worker ignores SIGTERM/SIGINT itself, and ignored signals survive exec).
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    private let started = ContinuousClock.now
    private let readFD: Int32
    private let outputDone = DispatchSemaphore(value: 0)
    private let stopReading = WorkerLocked(false)
    private let exited = WorkerLocked<Termination?>(nil)
    private let peak = WorkerLocked(0)

    /// Serialises pipe creation + spawn, so no other spawn inherits a pipe end between `pipe`
    /// and `FD_CLOEXEC`.
    private static let spawnLock = NSLock()

    public struct SpawnError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts `argv` (argv[0] is looked up on `environment["PATH"]` when it has no slash) in `directory`,
    /// with exactly `environment`. `onOutput` is called on the reader thread with each chunk read.
    public init(argv: [String], directory: String, environment: [String: String],
                onOutput: @escaping @Sendable (Data) -> Void) throws {
        guard !argv.isEmpty else { throw SpawnError(description: "empty command") }
        let exe: String
        if argv[0].contains("/") { exe = argv[0] } else {
            guard let p = findExecutable(argv[0], path: environment["PATH"]) else {
                throw SpawnError(description: "command not found: \(argv[0])")
            }
            exe = p
        }
        var fds: [Int32] = [0, 0]
        var spawned: pid_t = 0
        Self.spawnLock.lock()
        defer { Self.spawnLock.unlock() }
        guard pipe(&fds) == 0 else { throw SpawnError(description: "pipe: \(String(cString: strerror(errno)))") }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)

        var fa = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1)
        posix_spawn_file_actions_adddup2(&fa, fds[1], 2)

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var all = sigset_t(); sigfillset(&all)
        var none = sigset_t(); sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setpgroup(&attr, 0)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        // chdir happens in a tiny shell prelude rather than posix_spawn_file_actions_addchdir_np,
        // which not every libc exports.
        let full = ["/bin/sh", "-c", "cd \"$1\" || exit 126; shift; exec \"$@\"", "deborgen-job", directory, exe] + argv.dropFirst()
        let cArgs: [UnsafeMutablePointer<CChar>?] = full.map { strdup($0) } + [nil]
        let cEnv: [UnsafeMutablePointer<CChar>?] = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
        let rc = posix_spawn(&spawned, "/bin/sh", &fa, &attr, cArgs, cEnv)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw SpawnError(description: "posix_spawn \(argv[0]): \(String(cString: strerror(rc)))")
        }
        pid = spawned
        readFD = fds[0]
        let fd = readFD, stop = stopReading, done = outputDone
        let reader = Thread {
            var buf = [UInt8](repeating: 0, count: 65536)
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            while true {
                let r = poll(&p, 1, 200)
                if r < 0 && errno == EINTR { continue }
                if r == 0 { if stop.withLock({ $0 }) { break } else { continue } }
                let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, 65536) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                onOutput(Data(buf[0..<n]))
            }
            close(fd)
            done.signal()
        }
        reader.name = "deborgen-output-\(spawned)"
        reader.start()
        peak.withLock { $0 = Self.groupResidentKB(pgid: spawned) }
    }

    /// The summed resident size (KiB) of every process in group `pgid`, or the group leader's
    /// VmHWM if that is larger. Scans /proc; 0 where /proc is missing.
    static func groupResidentKB(pgid: pid_t) -> Int {
        guard let dir = opendir("/proc") else { return 0 }
        defer { closedir(dir) }
        let page = Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
        var sum = 0
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = Int32(name) else { continue }
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // Fields after "comm)": state ppid pgrp ...
            let f = stat[stat.index(after: close)...].split(separator: " ")
            guard f.count > 2, Int32(f[2]) == pgid else { continue }
            if let statm = try? String(contentsOfFile: "/proc/\(pid)/statm", encoding: .utf8) {
                let parts = statm.split(separator: " ")
                if parts.count > 1, let res = Int(parts[1]) { sum += res * page }
            }
        }
        var hwm = 0
        if let st = try? String(contentsOfFile: "/proc/\(pgid)/status", encoding: .utf8) {
            for line in st.split(separator: "\n") where line.hasPrefix("VmHWM:") {
                hwm = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            }
        }
        return max(sum, hwm)
    }

    /// Sends `signal` to the whole process group.
    public func kill(_ signal: Int32 = SIGKILL) {
        if exited.withLock({ $0 }) == nil || signal == SIGKILL {
            _ = Glibc.kill(-pid, signal)
        }
    }

    /// Waits for the process to end (on a dedicated thread: `wait4` blocks), then kills whatever is
    /// left of its group and waits up to `drainSeconds` for the output pipe to reach end of file.
    public func wait(drainSeconds: Double = 2) async -> Termination {
        let pid = self.pid, started = self.started
        let sampler = Task.detached { [peak] in
            var n = 0
            while !Task.isCancelled {
                let kb = Self.groupResidentKB(pgid: pid)
                peak.withLock { $0 = max($0, kb) }
                n += 1
                try? await Task.sleep(nanoseconds: n < 10 ? 100_000_000 : 250_000_000)
            }
        }
        var t: Termination = await withCheckedContinuation { (c: CheckedContinuation<Termination, Never>) in
            let th = Thread {
                var status: Int32 = 0
                var ru = rusage()
                var r: pid_t
                repeat { r = wait4(pid, &status, 0, &ru) } while r < 0 && errno == EINTR
                let wall = ContinuousClock.now - started
                let wallS = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
                let cpu = Double(ru.ru_utime.tv_sec) + Double(ru.ru_utime.tv_usec) / 1e6
                    + Double(ru.ru_stime.tv_sec) + Double(ru.ru_stime.tv_usec) / 1e6
                // WIFEXITED / WTERMSIG are macros Swift does not import.
                let sig = status & 0x7f
                let term = sig == 0
                    ? Termination(exitCode: (status >> 8) & 0xff, signal: nil, wallSeconds: wallS, cpuSeconds: cpu, maxRSSKB: Int(ru.ru_maxrss))
                    : Termination(exitCode: nil, signal: sig, wallSeconds: wallS, cpuSeconds: cpu, maxRSSKB: Int(ru.ru_maxrss))
                c.resume(returning: term)
            }
            th.name = "deborgen-wait-\(pid)"
            th.start()
        }
        sampler.cancel()
        t.maxRSSKB = peak.withLock { $0 }
        exited.withLock { $0 = t }
        // Leftover background processes would hold the pipe open forever.
        _ = Glibc.kill(-pid, SIGKILL)
        let done = outputDone, stop = stopReading
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                if done.wait(timeout: .now() + drainSeconds) == .timedOut {
                    stop.withLock { $0 = true }
                    done.wait()
                }
                c.resume()
            }
        }
        return t
    }
}
