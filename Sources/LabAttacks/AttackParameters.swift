// AttackParameters: how an attack's parts are named in a config file — a query strategy, a harvest mode
// or a distillation loss is `name` or `{name: {key: value}}` — and the typed, closed reading of their
// parameters, every error naming "<section>.<name>.<key>". Not a YAML parser: anything Codable feeds it.
import Foundation
import LabAPI
import LabCore

public enum StrategySection: SpecSection { public static let key = "strategy" }
public enum HarvestSection: SpecSection { public static let key = "harvest" }
public enum LossSection: SpecSection { public static let key = "student.loss" }

public typealias StrategySpec = NamedSpec<StrategySection>
public typealias HarvestSpec = NamedSpec<HarvestSection>
public typealias LossSpec = NamedSpec<LossSection>

/// The parameters of a strategy, harvest mode or loss: `PartParameters` under "<section>.<name>.".
public typealias AttackParameters = PartParameters
