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
    /// Peak memory in KiB: the largest summed resident size of the process tree seen by
    /// sampling /proc every 200 ms. (`ru_maxrss` is not used: on Linux it starts from the
    /// spawning worker's own RSS.)
    public var maxRSSKB: Int
    /// The tree's resident size (KiB) when it went over the memory limit and was killed; nil
    /// when it stayed under (or had no limit).
    public var memoryExceededKB: Int? = nil
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

/// Spawns commands with `posix_spawn` in a process group of their own, stdout and stderr merged
/// into one pipe read on a dedicated thread, every other descriptor closed on exec and every
/// signal disposition reset to default (the worker ignores SIGTERM/SIGINT itself, and ignored
/// signals survive exec). Signals go to the whole process tree (`ProcessTree`): descendants and
/// the process group, so a timeout, a cancel or a lost lease kills everything the job started,
/// including what a sandbox or `setsid` moved to another session.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    /// The spawned process is a sandbox's outer `bwrap`: SIGTERM goes to what runs inside it only.
    public let sandboxed: Bool
    /// Called with every signal `kill` sends, before it sends it: a container job's processes are
    /// not in this tree (the engine's monitor parents them), so this is how they are reached.
    private let onKill: (@Sendable (Int32) -> Void)?
    /// Only the spawned process's own process group is the job (a container engine's client):
    /// what it forks off into a session of its own (the engine's monitor, which must outlive
    /// the client long enough to record the container's exit) is not followed.
    private let groupOnly: Bool
    private let started = ContinuousClock.now
    private let readFD: Int32
    private let outputDone = DispatchSemaphore(value: 0)
    private let stopReading = WorkerLocked(false)
    private let exited = WorkerLocked<Termination?>(nil)
    private let peak = WorkerLocked(0)
    /// Every process seen in the job's tree, with its start time. A process whose parent died is
    /// re-parented out of the tree (to init); remembering it keeps it, and what it forks, in reach.
    private let known = WorkerLocked<[pid_t: UInt64]>([:])

    /// Serialises pipe creation + spawn, so no other spawn inherits a pipe end between `pipe`
    /// and `FD_CLOEXEC`.
    private static let spawnLock = NSLock()

    public struct SpawnError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts `argv` (argv[0] is looked up on `environment["PATH"]` when it has no slash) in `directory`,
    /// with exactly `environment`. `onOutput` is called on the reader thread with each chunk read.
    public init(argv: [String], directory: String, environment: [String: String], sandboxed: Bool = false,
                onKill: (@Sendable (Int32) -> Void)? = nil, groupOnly: Bool = false,
                onOutput: @escaping @Sendable (Data) -> Void) throws {
        self.sandboxed = sandboxed
        self.onKill = onKill
        self.groupOnly = groupOnly
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
    }

    /// The job's processes in `t`: the tree under the spawned process (while it is not reaped) and
    /// under every process seen in it before that is still the same process, plus its process
    /// group. Remembers them for next time.
    func members(_ t: ProcessTree, includingRoot: Bool) -> Set<pid_t> {
        if groupOnly {
            return Set(t.entries.filter { $0.value.pgrp == pid && (includingRoot || $0.key != pid) }.keys)
        }
        let roots = known.withLock { k -> Set<pid_t> in
            k = k.filter { t.entries[$0.key]?.start == $0.value }
            return Set(k.keys)
        }
        var m = t.members(of: includingRoot ? roots.union([pid]) : roots.subtracting([pid]), group: pid)
        if !includingRoot { m.remove(pid) }
        known.withLock { k in for p in m { if let e = t.entries[p] { k[p] = e.start } } }
        return m
    }

    /// SIGKILLs every process of the job, rescanning a few times to catch what forks meanwhile.
    private func killAll(includingRoot: Bool) {
        for _ in 0..<5 {
            let t = ProcessTree.scan()
            let live = members(t, includingRoot: includingRoot).filter { t.isLive($0) }
            if includingRoot { _ = Glibc.kill(-pid, SIGKILL) }
            if live.isEmpty { return }
            for p in live { _ = Glibc.kill(p, SIGKILL) }
            usleep(10_000)
        }
    }

    /// Sends `signal` to every process of the job; SIGKILL also catches what forks meanwhile.
    /// In a sandbox, SIGTERM spares the outer `bwrap` (which would die and SIGKILL its sandbox
    /// at once) and reaches what runs inside. Once the process has been reaped, only SIGKILL is
    /// sent, to what is left of the job.
    public func kill(_ signal: Int32 = SIGKILL) {
        onKill?(signal)
        if exited.withLock({ $0 }) == nil {
            if signal == SIGKILL { killAll(includingRoot: true); return }
            let m = members(ProcessTree.scan(), includingRoot: true)
            if !sandboxed { _ = Glibc.kill(-pid, signal) }
            for p in m where !(sandboxed && p == pid) { _ = Glibc.kill(p, signal) }
        } else if signal == SIGKILL {
            killAll(includingRoot: false)
        }
    }

    /// Waits for the process to end (on a dedicated thread: `wait4` blocks), then kills whatever is
    /// left of its group and waits up to `drainSeconds` for the output pipe to reach end of file.
    /// Every 200 ms the tree's resident memory is sampled; over `memoryLimitKB` the whole tree is
    /// killed and the result says so (`memoryExceededKB`).
    public func wait(drainSeconds: Double = 2, memoryLimitKB: Int? = nil) async -> Termination {
        let pid = self.pid, started = self.started
        let over = WorkerLocked<Int?>(nil)
        // CPU ticks the tree has used, as far as /proc shows (a floor for wait4's rusage, which
        // misses processes that were never waited for inside the tree).
        let ticks = WorkerLocked<UInt64>(0)
        let sampler = Task.detached { [peak, self] in
            while !Task.isCancelled {
                let t = ProcessTree.scan()
                let m = self.members(t, includingRoot: true)
                let kb = m.reduce(0) { $0 + (t.entries[$1]?.rssKB ?? 0) }
                let cpu = m.reduce(UInt64(0)) { $0 + (t.entries[$1]?.cpuTicks ?? 0) }
                peak.withLock { $0 = max($0, kb) }
                ticks.withLock { $0 = max($0, cpu) }
                if let limit = memoryLimitKB, kb > limit, over.withLock({ $0 }) == nil {
                    over.withLock { $0 = kb }
                    self.kill(SIGKILL)
                }
                try? await Task.sleep(nanoseconds: 200_000_000)
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
        t.memoryExceededKB = over.withLock { $0 }
        t.cpuSeconds = max(t.cpuSeconds, Double(ticks.withLock { $0 }) / Double(max(1, sysconf(Int32(_SC_CLK_TCK)))))
        exited.withLock { $0 = t }
        // Leftover background processes would hold the pipe open forever.
        killAll(includingRoot: false)
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
