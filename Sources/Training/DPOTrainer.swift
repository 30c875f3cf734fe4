import AudioIO
import Common
import EmotionCore
import Foundation
import JSONIO
import Neural
import Recognition

/// One clip of DPO training data: its features and the candidate pairs judged on it, each
/// candidate resampled to the model's frames and clamped onto the open simplex.
public struct DPOClip: Sendable {
    public var identifier: String
    public var features: [Float]
    public var frames: Int
    /// (preferred, other) mixtures, output frames x K each.
    public var pairs: [(winner: [Double], loser: [Double])]

    public init(identifier: String, features: [Float], frames: Int, pairs: [(winner: [Double], loser: [Double])]) {
        self.identifier = identifier
        self.features = features
        self.frames = frames
        self.pairs = pairs
    }

    /// A candidate track read at the model's frame times, every row clamped to at least
    /// `Dirichlet.minimumTarget` and renormalised.
    public static func resample(_ track: EmotionTrack, times: [Double], emotions: [String]) throws -> [Double] {
        guard Set(track.emotions) == Set(emotions), track.emotionCount == emotions.count else {
            throw TrainingError("dpo.emotions", "\(track.source ?? "candidate"): emotions \(track.emotions) differ from the model's \(emotions)")
        }
        let order = emotions.map { track.emotions.firstIndex(of: $0)! }
        return MixtureError.mixtures(of: track, at: times).flatMap { row in Dirichlet.smoothedTarget(order.map { row[$0] }, epsilon: 0) }
    }

    /// Groups preferences by clip and loads the audio and candidate tracks they name; relative
    /// paths are relative to `base`. Errors name the preferences file's entry and the file.
    public static func load(preferences: [Preference], base: URL, model: SequenceModel) throws -> [DPOClip] {
        var order: [String] = []
        var byClip: [String: [Preference]] = [:]
        for preference in preferences {
            if byClip[preference.clip] == nil { order.append(preference.clip) }
            byClip[preference.clip, default: []].append(preference)
        }
        func resolve(_ path: String) -> URL { path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path) }
        var cache: [String: EmotionTrack] = [:]
        var clips: [DPOClip] = []
        for clip in order {
            let audio = try AudioDecoder.read(resolve(clip), targetRate: model.sampleRate)
            let (features, frames) = SequenceExample.features(of: audio, model: model)
            let times = SequenceExample.outputTimes(frames: frames, configuration: model.configuration)
            var pairs: [(winner: [Double], loser: [Double])] = []
            for preference in byClip[clip]! {
                func rows(_ path: String) throws -> [Double] {
                    if cache[path] == nil { cache[path] = try EmotionTrack.read(from: resolve(path)) }
                    return try resample(cache[path]!, times: times, emotions: model.emotions)
                }
                pairs.append((try rows(preference.winner), try rows(preference.loser)))
            }
            clips.append(DPOClip(identifier: clip, features: features, frames: frames, pairs: pairs))
        }
        return clips
    }
}

public struct DPOSettings: Sendable, Equatable {
    /// The DPO temperature: how far the policy may move from the reference per unit of
    /// preference evidence. The paper found 0.5 best; too low forgets the pretrained model.
    public var beta = 0.5
    public var epochs = 4
    /// Clips per optimiser step (all pairs of a clip go in the same step).
    public var clipsPerStep = 4
    public var peakRate = 1e-4
    public var warmupSteps = 0
    public var weightDecay = 0.0
    public var clipNorm = 5.0
    public var seed: UInt64 = 1
    public var threads = 2

    public init() {}

    public var json: JSONValue {
        .object(
            JSONObject([
                ("beta", .number(beta)), ("epochs", .integer(Int64(epochs))), ("clips_per_step", .integer(Int64(clipsPerStep))),
                ("learning_rate", .number(peakRate)), ("warmup_steps", .integer(Int64(warmupSteps))), ("weight_decay", .number(weightDecay)),
                ("clip_norm", .number(clipNorm)), ("seed", .integer(Int64(bitPattern: seed))), ("threads", .integer(Int64(threads))),
            ]))
    }
}

public struct DPOEpochReport: Sendable {
    public var epoch: Int
    public var statistics: DPOStatistics
    public var learningRate: Double
    public var seconds: Double

    public var json: JSONValue {
        .object(
            JSONObject([
                ("epoch", .integer(Int64(epoch))), ("loss", .decimal(statistics.meanLoss, places: 5)),
                ("ranking_accuracy", .decimal(statistics.rankingAccuracy, places: 4)), ("mean_margin", .decimal(statistics.meanMargin, places: 4)),
                ("pairs", .integer(Int64(statistics.pairs))), ("learning_rate", .decimal(learningRate, places: 7)),
                ("seconds", .decimal(seconds, places: 1)),
            ]))
    }
}

/// Stage 3: DPO fine-tuning of a sequence network from preference pairs.
///
/// The reference is the network as it is when the trainer starts (a frozen copy: batch norm
/// on fixed statistics and no dropout make it deterministic, so its log-likelihoods
/// log p_ref(y) of every candidate are computed once, up front). Each step runs the policy
/// over `clipsPerStep` clips and minimises the mean over their pairs of
/// -log sigmoid(beta [(log p(y_w) - log p_ref(y_w)) - (log p(y_l) - log p_ref(y_l))])
/// (`Tape.directPreferenceLoss`), with AdamW and gradient clipping.
public final class DPOTrainer {
    public let network: SequenceNetwork
    public let settings: DPOSettings
    public let optimizer: AdamW
    public let schedule: WarmupCosineSchedule
    public let clips: [DPOClip]
    /// log p_ref of each clip's pairs, (winner, loser).
    public let references: [[(Double, Double)]]
    public private(set) var completedEpochs = 0
    public private(set) var history: [DPOEpochReport] = []
    var random: SeededRandom
    let workspace = AutogradWorkspace()

    public var stepsPerEpoch: Int { (clips.count + settings.clipsPerStep - 1) / settings.clipsPerStep }
    public var pairCount: Int { clips.reduce(0) { $0 + $1.pairs.count } }

    public init(network: SequenceNetwork, settings: DPOSettings, clips: [DPOClip]) {
        precondition(!clips.isEmpty, "DPOTrainer: no clips")
        self.network = network
        self.settings = settings
        self.clips = clips
        AutogradThreads.useForTraining(settings.threads)
        AutogradMemory.keepFreedBuffers()
        let k = network.configuration.emotions.count
        var references: [[(Double, Double)]] = []
        for clip in clips {
            let alpha = network.alpha(fromOutputs: DPOTrainer.outputs(network, clip, Tape.inference(), workspace).value)
            references.append(
                clip.pairs.map {
                    (
                        SequenceLikelihood.logLikelihood(alpha: alpha, y: $0.winner, emotions: k),
                        SequenceLikelihood.logLikelihood(alpha: alpha, y: $0.loser, emotions: k)
                    )
                })
        }
        self.references = references
        var adam = AdamW.Settings()
        adam.weightDecay = Float(settings.weightDecay)
        optimizer = AdamW(parameters: network.parameters, settings: adam)
        let steps = (clips.count + settings.clipsPerStep - 1) / settings.clipsPerStep
        schedule = WarmupCosineSchedule(peak: settings.peakRate, warmupSteps: settings.warmupSteps, totalSteps: settings.epochs * steps)
        random = SeededRandom(seed: settings.seed &+ 0xD90_0001)
    }

    static func outputs(_ network: SequenceNetwork, _ clip: DPOClip, _ tape: Tape, _ workspace: AutogradWorkspace) -> Variable {
        let input = Variable(shape: [1, 1, network.configuration.backbone.features.melBins, clip.frames], value: clip.features)
        return network.forward(tape, features: input, workspace: workspace)
    }

    func pairs(of index: Int) -> [DPOPair] {
        zip(clips[index].pairs, references[index]).map {
            DPOPair(winner: $0.0.winner, loser: $0.0.loser, referenceWinner: $0.1.0, referenceLoser: $0.1.1)
        }
    }

    @discardableResult
    public func runEpoch(progress: ((Int, Int) -> Void)? = nil) -> DPOEpochReport {
        let started = Date()
        var order = Array(clips.indices)
        random.shuffle(&order)
        var statistics = DPOStatistics()
        var rate = 0.0
        for step in 0..<stepsPerEpoch {
            let indices = Array(order[(step * settings.clipsPerStep)..<min(order.count, (step + 1) * settings.clipsPerStep)])
            let pairTotal = indices.reduce(0) { $0 + clips[$1].pairs.count }
            optimizer.zeroGradients()
            for index in indices where !clips[index].pairs.isEmpty {
                let tape = SequenceNetwork.trainingTape()
                let outputs = Self.outputs(network, clips[index], tape, workspace)
                let (loss, clipStatistics) = tape.directPreferenceLoss(
                    outputs, head: network.configuration.head, pairs: pairs(of: index), beta: settings.beta, scale: 1 / Double(pairTotal))
                tape.backward(from: loss)
                statistics.add(clipStatistics)
            }
            optimizer.clipGradients(maximum: settings.clipNorm)
            rate = schedule.rate(step: optimizer.step)
            optimizer.update(rate: Float(rate))
            progress?(step + 1, stepsPerEpoch)
        }
        completedEpochs += 1
        let report = DPOEpochReport(epoch: completedEpochs, statistics: statistics, learningRate: rate, seconds: Date().timeIntervalSince(started))
        history.append(report)
        return report
    }

    /// The DPO loss and ranking of every pair under the current network (no update).
    public func evaluate() -> DPOStatistics {
        var statistics = DPOStatistics()
        for index in clips.indices where !clips[index].pairs.isEmpty {
            let outputs = Self.outputs(network, clips[index], Tape.inference(), workspace)
            statistics.add(Tape.inference().directPreferenceLoss(outputs, head: network.configuration.head, pairs: pairs(of: index), beta: settings.beta).statistics)
        }
        return statistics
    }
}
