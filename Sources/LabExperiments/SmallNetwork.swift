// SmallNetwork: the shape and schedule of a small GPT that a cell trains for itself (a student, a proxy),
// read from a mapping of an experiment file with ranges checked at its key path. Not the teacher, whose
// section (TeacherSpec) is shared and cached; these networks live and die with their cell.
import Foundation
import LabCore
import LabData
import LabModel

/// A small GPT trained inside a cell: its shape (defaults: context 16, width 16, 1 layer, 2 heads) and its
/// schedule (300 steps of 8 windows at learning rate 0.01, a tenth of them, at most 10, warming up).
public struct SmallNetwork: Encodable, Equatable {
    public var contextLength = 16
    public var width = 16
    public var layers = 1
    public var heads = 2
    public var steps = 300
    public var batchSize = 8
    public var learningRate = 0.01

    public init(
        contextLength: Int = 16, width: Int = 16, layers: Int = 1, heads: Int = 2, steps: Int = 300, batchSize: Int = 8,
        learningRate: Double = 0.01
    ) {
        self.contextLength = contextLength
        self.width = width
        self.layers = layers
        self.heads = heads
        self.steps = steps
        self.batchSize = batchSize
        self.learningRate = learningRate
    }

    enum CodingKeys: String, CodingKey {
        case contextLength = "context_length", width, layers, heads, steps, batchSize = "batch_size", learningRate =
            "learning_rate"
    }

    mutating func decode(_ c: KeyedDecodingContainer<PathKey>) throws {
        func int(_ key: CodingKeys, _ value: inout Int) throws {
            if let v = try c.decodeIfPresent(Int.self, forKey: PathKey(stringValue: key.rawValue)) { value = v }
        }
        try int(.contextLength, &contextLength)
        try int(.width, &width)
        try int(.layers, &layers)
        try int(.heads, &heads)
        try int(.steps, &steps)
        try int(.batchSize, &batchSize)
        if let v = try c.decodeIfPresent(Double.self, forKey: PathKey(stringValue: CodingKeys.learningRate.rawValue)) {
            learningRate = v
        }
    }

    func check(_ path: [String], maxContext: Int) throws {
        func range(_ ok: Bool, _ key: String, _ value: Any, _ allowed: String) throws {
            if !ok { throw SpecIssue(path + [key], "is \(value); allowed range \(allowed)") }
        }
        try range(
            (1...maxContext).contains(contextLength), "context_length", contextLength,
            "1...\(maxContext) (the teacher's context_length)")
        try range(TeacherSpec.Limits.width.contains(width), "width", width, "1...2048")
        try range(TeacherSpec.Limits.layers.contains(layers), "layers", layers, "1...48")
        if heads < 1 || heads > width || width % heads != 0 {
            throw SpecIssue(path + ["heads"], "is \(heads); must divide width \(width)")
        }
        try range(TeacherSpec.Limits.steps.contains(steps), "steps", steps, "1...10000000")
        try range(TeacherSpec.Limits.batchSize.contains(batchSize), "batch_size", batchSize, "1...1024")
        try range(learningRate > 0 && learningRate <= 1, "learning_rate", learningRate, "(0, 1]")
    }

    var architecture: ModelArchitecture {
        ModelArchitecture(contextLength: contextLength, width: width, layers: layers, heads: heads)
    }

    func training(seed: UInt64) -> TrainingConfig {
        var t = TrainingConfig()
        t.steps = steps
        t.batchSize = batchSize
        t.sequenceLength = contextLength
        t.learningRate = Float(learningRate)
        t.warmupSteps = min(10, steps / 10)
        t.evalInterval = 0
        t.seed = seed
        return t
    }
}
