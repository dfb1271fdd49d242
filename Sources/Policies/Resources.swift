/// An amount of the three resources the engine schedules: processors, memory and GPUs.
///
/// Memory is in MiB. All arithmetic is exact integer arithmetic.
public struct Resources: Hashable, Sendable, CustomStringConvertible {
    public var cpus: Int
    public var memoryMB: Int
    public var gpus: Int

    @inlinable public init(cpus: Int = 0, memoryMB: Int = 0, gpus: Int = 0) {
        self.cpus = cpus
        self.memoryMB = memoryMB
        self.gpus = gpus
    }

    public static let zero = Resources()

    /// True when every component of `self` is at most the same component of `other`.
    @inlinable public func fits(in other: Resources) -> Bool {
        cpus <= other.cpus && memoryMB <= other.memoryMB && gpus <= other.gpus
    }

    @inlinable public var isZero: Bool { cpus == 0 && memoryMB == 0 && gpus == 0 }

    @inlinable public static func + (a: Resources, b: Resources) -> Resources {
        Resources(cpus: a.cpus + b.cpus, memoryMB: a.memoryMB + b.memoryMB, gpus: a.gpus + b.gpus)
    }

    @inlinable public static func - (a: Resources, b: Resources) -> Resources {
        Resources(cpus: a.cpus - b.cpus, memoryMB: a.memoryMB - b.memoryMB, gpus: a.gpus - b.gpus)
    }

    @inlinable public static func += (a: inout Resources, b: Resources) { a = a + b }
    @inlinable public static func -= (a: inout Resources, b: Resources) { a = a - b }

    /// Component-wise minimum.
    @inlinable public func meet(_ o: Resources) -> Resources {
        Resources(cpus: Swift.min(cpus, o.cpus), memoryMB: Swift.min(memoryMB, o.memoryMB),
                  gpus: Swift.min(gpus, o.gpus))
    }

    public var description: String {
        var parts = ["\(cpus) cpu"]
        if memoryMB > 0 { parts.append("\(memoryMB) MiB") }
        if gpus > 0 { parts.append("\(gpus) gpu") }
        return parts.joined(separator: ", ")
    }
}
