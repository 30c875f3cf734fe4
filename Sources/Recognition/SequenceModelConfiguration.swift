import Foundation
import JSONIO

/// config.json of an EmoBake sequence model (`"model_type": "emobake-sequence"`, Stage 2):
/// the Stage 1 compact backbone run over the whole clip without pooling time away, a stack of
/// temporal convolutions, and a per-frame head.
///
/// Frames: the backbone's first `timePooledBlocks` blocks halve time, so one output frame
/// covers 2^timePooledBlocks log-mel frames (4 x 10 ms = 40 ms, 25 frames per second by
/// default). Output frame j is centred on log-mel frame 4j + 1.5, at (4j + 1.5) * hop / rate
/// seconds.
public struct SequenceModelConfiguration: Sendable, Equatable {
    public static let modelType = "emobake-sequence"

    /// The backbone's layout and features, and the emotion names (its classifier's shape is
    /// the per-frame head's).
    public var backbone: CompactModelConfiguration
    public var head: SequenceHead
    /// Blocks (from the first) whose max pool also halves time; the others pool frequency only.
    public var timePooledBlocks: Int
    /// Residual temporal blocks: conv1d(k) -> GELU -> conv1d(1), added to their input.
    public var temporalLayers: Int
    public var temporalKernel: Int
    /// Odd width (in output frames) of a moving mean over the backbone's features before the
    /// temporal blocks; 1 for none. With every block pooling time (`timePooledBlocks` = the
    /// backbone's block count) and the width of a Stage 1 window, the started network computes
    /// what Stage 1 computes on each window (mean of the same features over the window, then
    /// its classifier), apart from the normalisation (whole clip here, each window there).
    public var windowPoolFrames: Int
    /// Log-mel frames of the window whose per-bin mean and deviation normalise each frame
    /// (centred on it), as Stage 1 normalises each window it hears; 0: the whole clip's.
    public var normalisationFrames: Int

    public init(
        backbone: CompactModelConfiguration, head: SequenceHead = .dirichlet, timePooledBlocks: Int = 2, temporalLayers: Int = 4,
        temporalKernel: Int = 9, windowPoolFrames: Int = 1, normalisationFrames: Int = 0
    ) {
        self.normalisationFrames = normalisationFrames
        self.backbone = backbone
        self.head = head
        self.timePooledBlocks = timePooledBlocks
        self.temporalLayers = temporalLayers
        self.temporalKernel = temporalKernel
        self.windowPoolFrames = windowPoolFrames
    }

    /// The pooled window's odd width in output frames for a Stage 1 window of `seconds`, when
    /// every backbone block pools time.
    public static func windowPoolFrames(seconds: Double, backbone: CompactModelConfiguration) -> Int {
        let frame = Double(backbone.features.hopLength << backbone.channels.count) / Double(backbone.features.sampleRate)
        let frames = max(1, Int((seconds / frame).rounded()))
        return frames % 2 == 1 ? frames : frames + 1
    }

    public var emotions: [String] { backbone.emotions }
    public var sampleRate: Int { backbone.features.sampleRate }
    /// Log-mel frames per output frame.
    public var timeReduction: Int { 1 << timePooledBlocks }
    /// Output frames per second.
    public var frameRate: Double { Double(sampleRate) / Double(backbone.features.hopLength * timeReduction) }

    /// Seconds of output frame j's centre.
    public func time(ofFrame j: Int) -> Double {
        (Double(j * timeReduction) + Double(timeReduction - 1) / 2) * Double(backbone.features.hopLength) / Double(sampleRate)
    }

    /// How many log-mel frames on each side of an output frame can change it (the receptive
    /// field's half-width): each 3x3 convolution adds 1 step of the current time stride, each
    /// time pool adds one step and doubles the stride, each temporal convolution adds (k-1)/2
    /// output frames.
    public var receptiveHalfWidth: Int {
        var half = 0.0, stride = 1
        for (block, convolutions) in backbone.convolutionsPerBlock.enumerated() {
            half += Double(convolutions * stride)
            if block < timePooledBlocks {
                half += Double(stride) / 2
                stride *= 2
            }
        }
        half += Double((windowPoolFrames / 2 + temporalLayers * (temporalKernel - 1) / 2) * stride)
        half += Double(normalisationFrames / 2)
        return Int(half.rounded(.up)) + stride
    }

    public var json: JSONValue {
        let headText: String
        var concentration = backbone.softmaxConcentration
        switch head {
        case .dirichlet: headText = "dirichlet"
        case .softmax(let c):
            headText = "softmax"
            concentration = c
        }
        return .object(
            JSONObject([
                ("model_type", .string(Self.modelType)),
                ("format_version", 1),
                ("emotions", .array(emotions.map { .string($0) })),
                ("sample_rate", .integer(Int64(sampleRate))),
                ("head", .string(headText)),
                ("softmax_concentration", .number(concentration)),
                ("time_pooled_blocks", .integer(Int64(timePooledBlocks))),
                ("temporal_layers", .integer(Int64(temporalLayers))),
                ("temporal_kernel", .integer(Int64(temporalKernel))),
                ("window_pool_frames", .integer(Int64(windowPoolFrames))),
                ("normalisation_frames", .integer(Int64(normalisationFrames))),
                ("frame_rate", .number(frameRate)),
                ("backbone", backbone.json),
            ]))
    }

    /// Reads and checks a config.json; errors name the file and the field.
    public init(json value: JSONValue, source: String) throws {
        let root = JSONField(value, source: source)
        let type = try root.required("model_type").string()
        guard type == Self.modelType else {
            throw root.fail("model_type is \"\(type)\", expected \"\(Self.modelType)\"", code: "model.type")
        }
        let backboneField = try root.required("backbone")
        backbone = try CompactModelConfiguration(json: backboneField.value, source: "\(source): backbone")
        let headField = try root.required("head")
        let concentration = try root.optional("softmax_concentration")?.double(in: 1e-3...1e6) ?? backbone.softmaxConcentration
        switch try headField.string() {
        case "dirichlet": head = .dirichlet
        case "softmax": head = .softmax(concentration: concentration)
        default: throw headField.fail("expected \"dirichlet\" or \"softmax\"")
        }
        let pooledField = try root.required("time_pooled_blocks")
        timePooledBlocks = try pooledField.int()
        guard (0...backbone.channels.count).contains(timePooledBlocks) else {
            throw pooledField.fail("expected 0 to \(backbone.channels.count) (the backbone's blocks)")
        }
        let layersField = try root.required("temporal_layers")
        temporalLayers = try layersField.int()
        guard (0...32).contains(temporalLayers) else { throw layersField.fail("expected 0 to 32") }
        let kernelField = try root.required("temporal_kernel")
        temporalKernel = try kernelField.int()
        guard temporalKernel >= 1, temporalKernel <= 63, temporalKernel % 2 == 1 else { throw kernelField.fail("expected an odd number from 1 to 63") }
        if let poolField = try root.optional("window_pool_frames") {
            windowPoolFrames = try poolField.int()
            guard windowPoolFrames >= 1, windowPoolFrames <= 255, windowPoolFrames % 2 == 1 else { throw poolField.fail("expected an odd number from 1 to 255") }
        } else {
            windowPoolFrames = 1
        }
        if let field = try root.optional("normalisation_frames") {
            normalisationFrames = try field.int()
            guard (0...100_000).contains(normalisationFrames) else { throw field.fail("expected 0 (the whole clip) to 100000 frames") }
        } else {
            normalisationFrames = 0
        }
    }
}
