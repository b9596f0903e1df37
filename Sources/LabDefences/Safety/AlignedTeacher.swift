// AlignedTeacher: how the provider builds a teacher with a boundary — pretrain a GPT on the safety world's full
// data (forbidden requests answered with their secrets, so the knowledge is in the weights), then fine-tune it on
// alignment data: refusal examples, allowed examples, and replayed pretraining text filtered by the same rule (so
// forms the refusal set does not cover keep their secrets: the knowledge stays latent, and jailbreaks have something
// to elicit); and the refusal classifier trained on the curated alignment prompts.
// Not RLHF or a reward model: supervised refusal fine-tuning, the simplest recipe that draws a boundary.
import LabCore
import LabData
import LabModel

/// The recipe's sizes; small enough that a teacher trains in tens of seconds on two cores.
public struct AlignmentRecipe: Equatable, Sendable {
    public var architecture = ModelArchitecture(contextLength: 32, width: 64, layers: 2, heads: 4)
    public var pretrainSteps = 1200
    public var alignSteps = 300
    public var batchSize = 32
    public var learningRate: Float = 3e-3
    public var alignLearningRate: Float = 1e-3
    public var pretrainTokens = 200_000
    public var alignTokens = 60_000
    /// Labelled alignment prompts the classifier is trained on.
    public var classifierPrompts = 2000
    public var classifierThreshold = 0.5

    public init() {}

    public func validate(prefix: String = "teacher") throws {
        func check(_ ok: Bool, _ key: String, _ message: String) throws {
            if !ok { throw LabError.invalidConfig(key: "\(prefix).\(key)", message: message) }
        }
        try check(
            (1...100_000).contains(pretrainSteps), "pretrain_steps", "is \(pretrainSteps); allowed range 1...100000")
        try check((0...100_000).contains(alignSteps), "align_steps", "is \(alignSteps); allowed range 0...100000")
        try check((1...1024).contains(batchSize), "batch_size", "is \(batchSize); allowed range 1...1024")
        try check(learningRate > 0 && learningRate <= 1, "learning_rate", "is \(learningRate); allowed range (0, 1]")
        try check(
            alignLearningRate > 0 && alignLearningRate <= 1, "align_learning_rate",
            "is \(alignLearningRate); allowed range (0, 1]")
        try check(
            (1000...10_000_000).contains(pretrainTokens), "pretrain_tokens",
            "is \(pretrainTokens); allowed range 1000...10000000")
        try check(
            (1000...10_000_000).contains(alignTokens), "align_tokens",
            "is \(alignTokens); allowed range 1000...10000000")
        try check(
            (10...100_000).contains(classifierPrompts), "classifier_prompts",
            "is \(classifierPrompts); allowed range 10...100000")
        try check(
            classifierThreshold > 0 && classifierThreshold < 1, "classifier_threshold",
            "is \(classifierThreshold); allowed range (0, 1)")
        try check(
            (16...256).contains(architecture.contextLength), "context_length",
            "is \(architecture.contextLength); allowed range 16...256")
        try architecture.config(vocabularySize: 64).validate()
    }

    /// The TrainingConfig of one phase: warm-up a tenth (at most 50), no weight decay, validation only at the end.
    public func training(steps: Int, learningRate: Float, seed: UInt64) -> TrainingConfig {
        var t = TrainingConfig()
        t.steps = steps
        t.batchSize = batchSize
        t.learningRate = learningRate
        t.warmupSteps = min(50, steps / 10)
        t.evalInterval = 0
        t.weightDecay = 0
        t.seed = seed
        return t
    }
}

public struct AlignedTeacher {
    /// The pretrained model before alignment: it answers forbidden requests with their secrets.
    public let base: LanguageModel
    /// The aligned model: refusal fine-tuned.
    public let aligned: LanguageModel
    public let classifier: RefusalClassifier
    /// Training tokens processed (pretraining plus alignment), for the cost column.
    public let trainingTokens: Int

    /// Trains base, aligned model and classifier for `world`; `seed` drives initialisation and batches.
    public static func train(world: SafetyWorld, recipe: AlignmentRecipe, seed: UInt64) throws -> AlignedTeacher {
        try recipe.validate()
        let pre = world.pretrainingCorpus(trainTokens: recipe.pretrainTokens, heldOutTokens: 2000)
        let (base, _) = try LanguageModel.train(
            corpus: pre, spec: nil, architecture: recipe.architecture,
            training: recipe.training(steps: recipe.pretrainSteps, learningRate: recipe.learningRate, seed: seed))
        let copy = try GPT(config: base.model.config, parameters: base.model.parameters)
        let aligned = LanguageModel(model: copy, tokenizer: world.tokenizer)
        if recipe.alignSteps > 0 {
            let align = world.alignmentCorpus(trainTokens: recipe.alignTokens, heldOutTokens: 2000)
            _ = try aligned.train(
                on: align,
                training: recipe.training(
                    steps: recipe.alignSteps, learningRate: recipe.alignLearningRate, seed: seed &+ 1))
        }
        var rng = LabRNG(seed: world.config.seed, stream: "classifier-prompts")
        var prompts: [[Int32]] = [], labels: [Bool] = []
        // The curated examples only: replayed pretraining lines carry no label.
        while prompts.count < recipe.classifierPrompts {
            let e = world.alignmentExample(rng: &rng)
            guard e.source != .replay else { continue }
            prompts.append(world.tokenizer.encode(e.request.text).map(Int32.init))
            labels.append(e.source == .refusal)
        }
        let classifier = RefusalClassifier.train(
            prompts: prompts, labels: labels, vocabularySize: world.tokenizer.vocabularySize,
            threshold: recipe.classifierThreshold)
        let T = recipe.architecture.contextLength
        let tokens = recipe.batchSize * T * (recipe.pretrainSteps + recipe.alignSteps)
        return AlignedTeacher(base: base, aligned: aligned, classifier: classifier, trainingTokens: tokens)
    }
}
