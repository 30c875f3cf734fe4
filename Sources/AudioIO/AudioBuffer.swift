/// Decoded audio: mono samples at `sampleRate` Hz, nominally in [-1, 1].
public struct AudioBuffer: Sendable {
    public var samples: [Float]
    public var sampleRate: Int
    /// Seconds.
    public var duration: Double { Double(samples.count) / Double(sampleRate) }

    public init(samples: [Float], sampleRate: Int) {
        self.samples = samples
        self.sampleRate = sampleRate
    }
}

/// What a file's header says, before any decoding.
public struct AudioFileInfo: Sendable, Equatable {
    /// Container and encoding as libsndfile names them, e.g. "WAV (Microsoft)", "Signed 16 bit PCM".
    public var container: String
    public var encoding: String
    public var sampleRate: Int
    public var channels: Int
    /// Frames (samples per channel) the header announces; nil when the format does not say.
    public var frames: Int?
    /// Seconds the header announces; nil when unknown.
    public var duration: Double? { frames.map { Double($0) / Double(sampleRate) } }
}
