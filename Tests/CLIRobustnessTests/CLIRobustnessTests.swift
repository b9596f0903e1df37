// CLI robustness: the built `distill-lab` binary over a table of bad inputs — every integer option at 0, −1,
// 2^31, 2^63−1 and 10^12, empty and unknown part names, truncated and mutated checkpoints and experiment
// files. Each must exit non-zero without a signal, within a time limit, under an address-space limit, and
// name the offending flag, key or file. Not a test of what valid input computes.
import Foundation
import XCTest

final class CLIRobustnessTests: XCTestCase {
    /// One bad input: the arguments, and the strings of which at least one must appear in the output.
    struct Case {
        var name: String
        var arguments: [String]
        var names: [String]
    }

    struct Outcome {
        var status: Int32
        var signalled: Bool
        var timedOut: Bool
        var seconds: Double
        var output: String
    }

    static let timeLimit = 20.0
    /// Address space each case runs in (prlimit --as); the lab's own memory limit is set below it.
    static let addressSpace = 6 << 30
    static let labLimitGiB = "1"

    /// `distill-lab`, built beside the test bundle (.build/<config>/).
    func binary() throws -> URL {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0])
        let candidates =
            [bundle.deletingLastPathComponent(), bundle.deletingLastPathComponent().deletingLastPathComponent()]
            .map { $0.appendingPathComponent("distill-lab") }
            + Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent().appendingPathComponent("distill-lab") }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip(
                "distill-lab is not built next to the tests (looked in \(candidates.map(\.path))); run `swift build` first"
            )
        }
        return found
    }

    /// Runs the binary under prlimit (when present) with a deadline; output is stdout and stderr together.
    func execute(_ arguments: [String], in directory: URL, binary: URL) throws -> Outcome {
        let log = directory.appendingPathComponent(".out-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        let prlimit = "/usr/bin/prlimit"
        if FileManager.default.isExecutableFile(atPath: prlimit) {
            process.executableURL = URL(fileURLWithPath: prlimit)
            process.arguments = ["--as=\(Self.addressSpace)", "--", binary.path] + arguments
        } else {
            process.executableURL = binary
            process.arguments = arguments
        }
        var environment = ProcessInfo.processInfo.environment
        environment["DISTILL_LAB_MEMORY_LIMIT_GIB"] = Self.labLimitGiB
        environment["DISTILL_LAB_CACHE"] = directory.appendingPathComponent("cache").path
        process.environment = environment
        process.currentDirectoryURL = directory
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        let start = Date()
        try process.run()
        var timedOut = false
        while process.isRunning {
            if Date().timeIntervalSince(start) > Self.timeLimit {
                timedOut = true
                kill(process.processIdentifier, SIGKILL)
            }
            usleep(20_000)
        }
        process.waitUntilExit()
        try handle.close()
        let output = String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self)
        try? FileManager.default.removeItem(at: log)
        return Outcome(
            status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
            timedOut: timedOut, seconds: Date().timeIntervalSince(start), output: output)
    }

    // MARK: Fixtures

    /// A scratch directory with a tiny checkpoint `ck` and its mutated copies, text corpora and experiment files.
    func makeFixtures(binary: URL) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cli-robustness-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tiny = [
            "--steps", "2", "--context", "16", "--width", "16", "--layers", "1", "--heads", "2", "--batch-size", "2",
            "--eval-interval", "0", "--threads", "1",
        ]
        let trained = try execute(
            ["train", "--corpus", "markov", "--train-tokens", "2000", "--out", "ck"] + tiny, in: dir, binary: binary)
        XCTAssertEqual(trained.status, 0, "training the fixture checkpoint failed: \(trained.output)")
        let text = String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 40)
        try Data(text.utf8).write(to: dir.appendingPathComponent("corpus.txt"))
        let trainedText = try execute(
            ["train", "--corpus", "text", "--path", "corpus.txt", "--out", "ck-text"] + tiny, in: dir, binary: binary)
        XCTAssertEqual(trainedText.status, 0, "training the text fixture failed: \(trainedText.output)")
        // The corpus changes after training: eval must notice.
        try Data((text + "a new line that was not there.\n").utf8).write(to: dir.appendingPathComponent("corpus.txt"))

        let fm = FileManager.default
        func copy(_ name: String, _ mutate: (URL) throws -> Void) throws {
            let target = dir.appendingPathComponent(name)
            try fm.copyItem(at: dir.appendingPathComponent("ck"), to: target)
            try mutate(target)
        }
        let model = "model.safetensors", config = "config.json", tokenizer = "tokenizer.json"
        let modelData = try Data(contentsOf: dir.appendingPathComponent("ck").appendingPathComponent(model))
        for (name, length) in [
            ("ck-trunc-half", modelData.count / 2), ("ck-trunc-8", 8), ("ck-trunc-4", 4), ("ck-trunc-0", 0),
            ("ck-trunc-1", modelData.count - 1),
        ] {
            try copy(name) { try modelData.prefix(length).write(to: $0.appendingPathComponent(model)) }
        }
        try copy("ck-appended") {
            try (modelData + Data(repeating: 7, count: 13)).write(to: $0.appendingPathComponent(model))
        }
        try copy("ck-nan") { url in
            var d = modelData
            d.replaceSubrange((d.count - 64)..<d.count, with: Data(repeating: 0xFF, count: 64))
            try d.write(to: url.appendingPathComponent(model))
        }
        try copy("ck-no-model") { try fm.removeItem(at: $0.appendingPathComponent(model)) }
        try copy("ck-model-dir") { url in
            try fm.removeItem(at: url.appendingPathComponent(model))
            try fm.createDirectory(at: url.appendingPathComponent(model), withIntermediateDirectories: false)
        }
        try copy("ck-config-dir") { url in
            try fm.removeItem(at: url.appendingPathComponent(config))
            try fm.createDirectory(at: url.appendingPathComponent(config), withIntermediateDirectories: false)
        }
        try copy("ck-config-garbage") { try Data("{not json".utf8).write(to: $0.appendingPathComponent(config)) }
        try copy("ck-config-empty") { try Data().write(to: $0.appendingPathComponent(config)) }
        try copy("ck-no-config") { try fm.removeItem(at: $0.appendingPathComponent(config)) }
        try copy("ck-tokenizer-garbage") { try Data("[1,2,3]".utf8).write(to: $0.appendingPathComponent(tokenizer)) }
        try copy("ck-tokenizer-dir") { url in
            try fm.removeItem(at: url.appendingPathComponent(tokenizer))
            try fm.createDirectory(at: url.appendingPathComponent(tokenizer), withIntermediateDirectories: false)
        }
        // A header without its last tensor's entry (the data stays): a missing tensor, not trailing bytes.
        try copy("ck-missing-tensor") { url in
            let headerLength = Int(modelData.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
            var header = try XCTUnwrap(
                JSONSerialization.jsonObject(with: modelData.subdata(in: 8..<(8 + headerLength))) as? [String: Any])
            header["transformer.ln_f.bias"] = nil
            var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
            while json.count % 8 != 0 { json.append(0x20) }
            var length = UInt64(json.count).littleEndian
            let out = Data(bytes: &length, count: 8) + json + modelData.suffix(from: 8 + headerLength)
            try out.write(to: url.appendingPathComponent(model))
        }
        // The corpus the checkpoint records, made huge: rebuilding it must be refused before allocating.
        let configText = String(
            decoding: try Data(contentsOf: dir.appendingPathComponent("ck/config.json")), as: UTF8.self)
        for (label, from, to) in [
            ("tokens", "\\\"train_tokens\\\":2000", "\\\"train_tokens\\\":1000000000000"),
            ("symbols", "\\\"symbols\\\":16", "\\\"symbols\\\":2147483648"),
        ] {
            XCTAssertTrue(configText.contains(from), "fixture: \(from) not in \(configText)")
            try copy("ck-recorded-corpus-\(label)") {
                try Data(configText.replacingOccurrences(of: from, with: to).utf8).write(
                    to: $0.appendingPathComponent(config))
            }
        }
        let configObject = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("ck/config.json")))
                as? [String: Any])
        for key in ["vocab_size", "n_positions", "n_embd", "n_layer", "n_head"] {
            for (label, value) in [
                ("0", "0"), ("neg", "-1"), ("2p31", "2147483648"), ("2p40", "1099511627776"),
                ("max", "9223372036854775807"), ("frac", "2.5"), ("str", "\"x\""),
            ] {
                try copy("ck-\(key)-\(label)") { url in
                    var object = configObject
                    object[key] = 0
                    var text = String(
                        decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]),
                        as: UTF8.self)
                    text = text.replacingOccurrences(of: "\"\(key)\":0", with: "\"\(key)\":\(value)")
                    try Data(text.utf8).write(to: url.appendingPathComponent(config))
                }
            }
        }

        // Experiment files.
        let good = """
            experiment: robust
            kind: teacher
            seeds: [0]
            teacher:
              corpus: {kind: markov, symbols: 6, order: 1, train_tokens: 3000, validation_tokens: 400, test_tokens: 400}
              model: {context_length: 16, width: 16, layers: 1, heads: 2}
              training: {steps: 2, batch_size: 2, eval_interval: 0}
            grid:
              teacher.model.width: [16]
            tables:
              - rows: teacher.model.width
                values: [validation_loss]

            """
        func yaml(_ name: String, _ text: String) throws {
            try Data(text.utf8).write(to: dir.appendingPathComponent(name))
        }
        try yaml("good.yaml", good)
        try yaml("other.yaml", good.replacingOccurrences(of: "experiment: robust", with: "experiment: other-robust"))
        var bomb = "experiment: bomb\nkind: teacher\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...8 {
            bomb += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        try yaml("bomb.yaml", bomb + "grid:\n  teacher.model.width: *a8\n")
        for (label, value) in [
            ("width-2p40", "1099511627776"), ("width-max", "9223372036854775807"), ("width-0", "0"),
            ("width-neg", "-1"),
        ] {
            try yaml(
                "\(label).yaml",
                good.replacingOccurrences(of: "teacher.model.width: [16]", with: "teacher.model.width: [\(value)]"))
        }
        let modelLine = "model: {context_length: 16, width: 16, layers: 1, heads: 2}"
        for (key, value) in [
            ("context_length", "2147483648"), ("layers", "2147483648"), ("heads", "0"), ("heads", "1099511627776"),
            ("context_length", "4096"),
        ] {
            var fields = ["context_length": "16", "width": "16", "layers": "1", "heads": "2"]
            fields[key] = value
            let line =
                "model: {"
                + ["context_length", "width", "layers", "heads"].map { "\($0): \(fields[$0]!)" }.joined(separator: ", ")
                + "}"
            try yaml("model-\(key)-\(value).yaml", good.replacingOccurrences(of: modelLine, with: line))
        }
        let corpus = "symbols: 6, order: 1, train_tokens: 3000"
        for (key, value) in [
            ("train_tokens", "1000000000000"), ("train_tokens", "-1"), ("symbols", "2147483648"),
            ("order", "2147483648"),
        ] {
            var fields = ["symbols": "6", "order": "1", "train_tokens": "3000"]
            fields[key] = value
            try yaml(
                "corpus-\(key)-\(value).yaml",
                good.replacingOccurrences(
                    of: corpus,
                    with: ["symbols", "order", "train_tokens"].map { "\($0): \(fields[$0]!)" }.joined(separator: ", ")))
        }
        for (key, value) in [("steps", "2147483648"), ("batch_size", "2147483648"), ("batch_size", "0")] {
            try yaml(
                "training-\(key)-\(value).yaml",
                good.replacingOccurrences(
                    of: "training: {steps: 2, batch_size: 2, eval_interval: 0}",
                    with: key == "steps"
                        ? "training: {steps: \(value), batch_size: 2, eval_interval: 0}"
                        : "training: {steps: 2, batch_size: \(value), eval_interval: 0}"))
        }
        try yaml("unknown-key.yaml", good + "colour: blue\n")
        try yaml("truncated.yaml", String(good.prefix(good.count / 2)))
        try yaml(
            "truncated-flow.yaml",
            String(good.prefix(good.firstRange(of: "order: 1")!.upperBound.utf16Offset(in: good))))
        try yaml("empty.yaml", "")
        try yaml("list.yaml", "- a\n- b\n")
        try yaml("nul.yaml", good + "\0")
        try Data([0x65, 0x78, 0xFF, 0xFE, 0x0A]).write(to: dir.appendingPathComponent("utf8.yaml"))
        try yaml("tabs.yaml", good.replacingOccurrences(of: "  corpus", with: "\tcorpus"))
        let values = (1...400).map(String.init).joined(separator: ", ")
        try yaml(
            "cells.yaml",
            good.replacingOccurrences(
                of: "teacher.model.width: [16]",
                with: "teacher.model.width: [\(values)]\n  teacher.training.steps: [\(values)]"))
        try yaml("dup-key.yaml", good + "kind: teacher\n")
        try fm.createDirectory(at: dir.appendingPathComponent("dir.yaml"), withIntermediateDirectories: false)
        try yaml("mutated.yaml", good.replacingOccurrences(of: ":", with: "::"))
        return dir
    }

    // MARK: The table

    /// Names an error may use for a flag: "--batch-size", "batch-size", "batch_size".
    static func spellings(_ flag: String) -> [String] {
        let bare = String(flag.drop(while: { $0 == "-" }))
        return [flag, bare, bare.replacingOccurrences(of: "-", with: "_")]
    }

    static let integers = ["0", "-1", "2147483648", "9223372036854775807", "1000000000000"]
    static let huge = ["2147483648", "9223372036854775807", "1000000000000"]

    func table() -> [Case] {
        var cases: [Case] = []
        func add(_ name: String, _ arguments: [String], _ names: [String]) {
            cases.append(Case(name: name, arguments: arguments, names: names))
        }

        // Integer options, each alone on an otherwise valid command.
        let trainBase = [
            "train", "--corpus", "markov", "--out", "t-out", "--steps", "2", "--context", "16", "--width", "16",
            "--layers", "1", "--heads", "2",
            "--batch-size", "2", "--train-tokens", "2000", "--eval-interval", "0",
        ]
        let trainOptions: [(String, [String])] = [
            ("--context", Self.integers), ("--width", Self.integers), ("--layers", Self.integers),
            ("--heads", Self.integers), ("--steps", Self.integers),
            ("--batch-size", Self.integers), ("--warmup", ["-1"] + Self.huge), ("--eval-interval", ["-1"] + Self.huge),
            ("--symbols", Self.integers),
            ("--order", ["-1"] + Self.huge), ("--train-tokens", Self.integers), ("--threads", ["0", "-1"]),
        ]
        for (flag, values) in trainOptions {
            for v in values { add("train \(flag) \(v)", trainBase + [flag, v], Self.spellings(flag)) }
        }
        for v in ["0", "-0.01", "nan", "inf"] { add("train --lr \(v)", trainBase + ["--lr", v], ["--lr"]) }
        add("train --corpus bogus", ["train", "--corpus", "bogus", "--out", "t-out"], ["--corpus"])
        add("train --corpus text without --path", ["train", "--corpus", "text", "--out", "t-out"], ["--path"])
        add(
            "train --corpus text --path missing",
            ["train", "--corpus", "text", "--path", "missing.txt", "--out", "t-out"], ["missing.txt"])
        add(
            "train --corpus text --path a directory", ["train", "--corpus", "text", "--path", "ck", "--out", "t-out"],
            ["ck"])
        add(
            "train --out unwritable",
            trainBase.filter { $0 != "t-out" && $0 != "--out" } + ["--out", "/proc/distill-lab/ck"],
            ["/proc/distill-lab"])
        add(
            "train --out a file", trainBase.filter { $0 != "t-out" && $0 != "--out" } + ["--out", "corpus.txt"],
            ["corpus.txt"])

        let sampleBase = ["sample", "--checkpoint", "ck"]
        for (flag, values) in [
            ("--tokens", Self.integers), ("--count", Self.integers), ("--top-k", ["0", "-1"]),
            ("--threads", ["0", "-1"]),
        ] {
            for v in values { add("sample \(flag) \(v)", sampleBase + [flag, v], Self.spellings(flag)) }
        }
        for v in ["-1", "nan"] {
            add("sample --temperature \(v)", sampleBase + ["--temperature", v], ["--temperature"])
        }
        for v in ["0", "1.5", "-1"] { add("sample --top-p \(v)", sampleBase + ["--top-p", v], ["--top-p"]) }
        add("sample --prompt too long", sampleBase + ["--prompt", String(repeating: "a", count: 40)], ["--prompt"])

        let defencesBase = [
            "defences", "--teacher", "ck", "--out", "d-out", "--prompts", "2", "--prompt-length", "4",
            "--completion-tokens", "4",
        ]
        for (flag, values) in [
            ("--prompts", Self.integers), ("--prompt-length", Self.integers), ("--completion-tokens", Self.integers),
        ] {
            for v in values { add("defences \(flag) \(v)", defencesBase + [flag, v], Self.spellings(flag)) }
        }

        let stealBase = [
            "steal", "--random-width", "8", "--vocab", "32", "--context", "8", "--layers", "1", "--prompt-length", "4",
        ]
        for (flag, values) in [
            ("--vocab", Self.integers), ("--layers", Self.integers), ("--context", Self.integers),
            ("--vectors", Self.integers),
            ("--prompt-length", Self.integers), ("--max-logprobs", Self.integers), ("--seeds", Self.integers),
            ("--random-width", Self.integers),
        ] {
            for v in values { add("steal \(flag) \(v)", stealBase + [flag, v], Self.spellings(flag)) }
        }
        add("steal --mode bogus", stealBase + ["--mode", "bogus"], ["--mode"])
        add("steal --top-k 0", stealBase + ["--top-k", "0"], ["--top-k"])

        let attackBase = [
            "attack", "--teacher", "ck", "--budget", "20", "--min-steps", "1", "--max-steps", "2", "--eval-prompts",
            "2",
        ]
        for (flag, values) in [
            ("--student-width", Self.integers), ("--student-layers", Self.integers), ("--student-heads", Self.integers),
            ("--batch-size", Self.integers),
            ("--min-steps", ["-1"] + Self.huge), ("--max-steps", Self.integers), ("--eval-prompts", Self.integers),
            ("--eval-length", Self.integers),
            ("--teacher-batch-size", Self.integers),
        ] {
            for v in values { add("attack \(flag) \(v)", attackBase + [flag, v], Self.spellings(flag)) }
        }
        for v in ["0", "-1", "nan"] { add("attack --epochs \(v)", attackBase + ["--epochs", v], ["--epochs"]) }
        add("attack --lr -0.01", attackBase + ["--lr", "-0.01"], ["--lr"])

        // Part names: empty, separator only, unknown, unknown or repeated parameter.
        for flag in ["--strategy", "--harvest", "--loss", "--defence"] {
            for (label, value) in [
                ("empty", ""), ("colon", ":"), ("colon-key", ":k=1"), ("unknown", "bogus_part"),
                ("no-value", "top_k:k"), ("comma", "top_k:,"),
            ] {
                add(
                    "attack \(flag) \(label)", attackBase + [flag, value],
                    Self.spellings(flag) + (label == "unknown" ? ["bogus_part"] : []))
            }
        }
        add("attack --harvest repeated key", attackBase + ["--harvest", "top_k:k=3,k=4"], ["top_k.k"])
        add("attack --defence repeated key", attackBase + ["--defence", "top_k:k=3,k=4"], ["top_k.k"])
        add("attack --defence unknown key", attackBase + ["--defence", "top_k:q=3"], ["top_k.q"])
        add("attack --unit bogus", attackBase + ["--unit", "bogus"], ["--unit"])
        add("attack --budget x", attackBase + ["--budget", "x"], ["--budget"])
        add("attack --prompt-length 5-2", attackBase + ["--prompt-length", "5-2"], ["--prompt-length"])
        add("attack --config missing", attackBase + ["--config", "missing.json"], ["missing.json"])
        add("attack --config a directory", attackBase + ["--config", "ck"], ["ck"])
        add("attack --config garbage", attackBase + ["--config", "corpus.txt"], ["corpus.txt"])

        add("bench --seconds -1", ["bench", "--seconds", "-1"], ["--seconds"])
        add("bench --config bogus", ["bench", "--config", "bogus"], ["--config"])
        add("bench --mode bogus", ["bench", "--mode", "bogus"], ["--mode"])

        // Damaged checkpoints, through eval.
        var damaged = [
            "ck-trunc-half", "ck-trunc-8", "ck-trunc-4", "ck-trunc-0", "ck-trunc-1", "ck-appended", "ck-nan",
            "ck-no-model", "ck-model-dir", "ck-config-dir",
            "ck-config-garbage", "ck-config-empty", "ck-no-config", "ck-tokenizer-garbage", "ck-tokenizer-dir",
            "ck-missing-tensor", "missing-ck", "corpus.txt",
        ]
        for key in ["vocab_size", "n_positions", "n_embd", "n_layer", "n_head"] {
            for label in ["0", "neg", "2p31", "2p40", "max", "frac", "str"] { damaged.append("ck-\(key)-\(label)") }
        }
        for name in damaged { add("eval \(name)", ["eval", "--checkpoint", name], [name]) }
        add(
            "eval missing tensor is named", ["eval", "--checkpoint", "ck-missing-tensor"],
            ["transformer.ln_f.bias' is missing", "ln_f.bias': is missing"])
        add("eval changed text corpus", ["eval", "--checkpoint", "ck-text"], ["corpus.txt"])
        add(
            "eval recorded corpus of 10^12 tokens", ["eval", "--checkpoint", "ck-recorded-corpus-tokens"],
            ["train_tokens"])
        add(
            "attack recorded corpus of 10^12 tokens", ["attack", "--teacher", "ck-recorded-corpus-tokens"],
            ["train_tokens"])
        add(
            "defences recorded corpus of 10^12 tokens",
            ["defences", "--teacher", "ck-recorded-corpus-tokens", "--out", "d-out"], ["train_tokens"])
        add(
            "eval recorded corpus of 2^31 symbols", ["eval", "--checkpoint", "ck-recorded-corpus-symbols"], ["symbols"])
        add("eval --split bogus", ["eval", "--checkpoint", "ck", "--split", "bogus"], ["--split"])
        add("sample nan checkpoint", ["sample", "--checkpoint", "ck-nan"], ["ck-nan"])
        add("attack damaged teacher", ["attack", "--teacher", "ck-trunc-half"], ["ck-trunc-half"])

        // Experiment files, through validate and run.
        var files = [
            "bomb.yaml", "width-2p40.yaml", "width-max.yaml", "width-0.yaml", "width-neg.yaml", "unknown-key.yaml",
            "truncated.yaml", "truncated-flow.yaml",
            "empty.yaml", "list.yaml", "nul.yaml", "utf8.yaml", "tabs.yaml", "cells.yaml", "dup-key.yaml", "dir.yaml",
            "missing.yaml", "mutated.yaml",
        ]
        files += [
            "training-steps-2147483648.yaml", "training-batch_size-2147483648.yaml", "training-batch_size-0.yaml",
        ]
        files += [
            "corpus-train_tokens-1000000000000.yaml", "corpus-train_tokens--1.yaml", "corpus-symbols-2147483648.yaml",
            "corpus-order-2147483648.yaml",
        ]
        files += [
            "model-context_length-2147483648.yaml", "model-layers-2147483648.yaml", "model-heads-0.yaml",
            "model-heads-1099511627776.yaml", "model-context_length-4096.yaml",
        ]
        for name in files {
            add("validate \(name)", ["validate", name], [name])
            add("run \(name)", ["run", name, "--out", "r-\(name)", "--quiet"], [name])
        }
        for shard in ["0/1", "3/2", "/", "a/b", "1/0", "-1/2"] {
            add("run --shard \(shard)", ["run", "good.yaml", "--shard", shard, "--out", "r-shard"], ["--shard"])
        }
        add("run --threads 0", ["run", "good.yaml", "--threads", "0"], ["--threads"])
        add("run into another experiment's results", ["run", "other.yaml", "--out", "owned", "--quiet"], ["'robust'"])
        add(
            "run --fresh into another experiment's results",
            ["run", "other.yaml", "--out", "owned", "--fresh", "--quiet"], ["'robust'"])
        add(
            "merge into another experiment's results", ["merge", "other.yaml", "owned", "--out", "owned"], ["'robust'"])
        add(
            "merge missing shard directory", ["merge", "good.yaml", "no-such-shard", "--out", "m-out"],
            ["no-such-shard"])
        return cases
    }

    func testEveryBadInputFailsCleanlyNamingTheCulprit() throws {
        let binary = try binary()
        let dir = try makeFixtures(binary: binary)
        defer { try? FileManager.default.removeItem(at: dir) }
        // The directory another experiment owns, for the refusal cases.
        let owned = try execute(
            ["run", "good.yaml", "--out", "owned", "--quiet", "--threads", "1"], in: dir, binary: binary)
        XCTAssertEqual(owned.status, 0, owned.output)
        let ownedCells = try FileManager.default.contentsOfDirectory(
            atPath: dir.appendingPathComponent("owned/cells").path
        ).sorted()

        let cases = table()
        XCTAssertGreaterThanOrEqual(cases.count, 150)
        let outcomes = UnsafeMutableBufferPointer<Outcome?>.allocate(capacity: cases.count)
        outcomes.initialize(repeating: nil)
        defer { outcomes.deallocate() }
        let next = NSLock()
        var cursor = 0
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            while true {
                next.lock()
                let i = cursor
                cursor += 1
                next.unlock()
                guard i < cases.count else { return }
                outcomes[i] = try? execute(cases[i].arguments, in: dir, binary: binary)
            }
        }
        var slowest = 0.0
        for (c, outcome) in zip(cases, outcomes) {
            guard let o = outcome else {
                XCTFail("\(c.name): could not run")
                continue
            }
            slowest = max(slowest, o.seconds)
            let tail = o.output.suffix(600)
            XCTAssertFalse(o.timedOut, "\(c.name): still running after \(Self.timeLimit) s")
            XCTAssertFalse(
                o.signalled, "\(c.name): killed by signal \(o.status) (a trap or an allocation failure): \(tail)")
            XCTAssertNotEqual(o.status, 0, "\(c.name): exit 0 for bad input: \(tail)")
            XCTAssertTrue(
                c.names.contains { o.output.contains($0) }, "\(c.name): the message names none of \(c.names): \(tail)")
            XCTAssertFalse(
                o.output.contains("NSCocoaErrorDomain") || o.output.contains("CodingKeys(")
                    || o.output.contains("Fatal error"),
                "\(c.name): internal names leak: \(tail)")
        }
        print("CLI robustness: \(cases.count) bad inputs, slowest \(String(format: "%.1f", slowest)) s")
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("owned/cells").path)
                .sorted(), ownedCells,
            "the refused runs left the owner's cells alone")
    }

    /// Negative numbers after an option are values; --threads far past the cores is capped with a note; every
    /// --json output is JSON on standard output alone.
    func testValidInputsAtTheEdgesWork() throws {
        let binary = try binary()
        let dir = try makeFixtures(binary: binary)
        defer { try? FileManager.default.removeItem(at: dir) }
        let capped = try execute(
            ["sample", "--checkpoint", "ck", "--threads", "1000", "--tokens", "4"], in: dir, binary: binary)
        XCTAssertEqual(capped.status, 0, capped.output)
        XCTAssertTrue(capped.output.contains("capped"), capped.output)
        let tokenizer1 = try Data(contentsOf: dir.appendingPathComponent("ck/tokenizer.json"))
        for arguments in [
            ["eval", "--checkpoint", "ck", "--json"], ["logprobs", "--checkpoint", "ck", "--text", "abcabc", "--json"],
            [
                "attack", "--teacher", "ck", "--budget", "20", "--min-steps", "1", "--max-steps", "2", "--eval-prompts",
                "2", "--prompt-length", "1-8", "--json", "--threads", "1",
            ],
            [
                "steal", "--random-width", "8", "--vocab", "32", "--context", "8", "--layers", "1", "--prompt-length",
                "4", "--json",
            ],
        ] {
            let process = Process()
            process.executableURL = binary
            process.arguments = arguments
            process.currentDirectoryURL = dir
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, "\(arguments)")
            XCTAssertNoThrow(
                try JSONSerialization.jsonObject(with: data),
                "\(arguments): standard output is not JSON: \(String(decoding: data.prefix(300), as: UTF8.self))")
        }
        // Identical training runs write identical tokenizer files.
        let again = try execute(
            [
                "train", "--corpus", "markov", "--train-tokens", "2000", "--out", "ck2", "--steps", "2", "--context",
                "16", "--width", "16",
                "--layers", "1", "--heads", "2", "--batch-size", "2", "--eval-interval", "0", "--threads", "1",
            ], in: dir, binary: binary)
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("ck2/tokenizer.json")), tokenizer1)
    }
}
