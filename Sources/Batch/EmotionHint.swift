import EmotionCore

/// A director's emotion hint ("angry") applied as a Dirichlet prior on the prediction.
///
/// For every frame t with predicted alpha_t and concentration c_t = sum_i alpha_t,i, the hint
/// h adds pseudo-counts to its own emotion in proportion to the frame's confidence:
///
///     alpha'_t,i = alpha_t,i + s * c_t * [i == h]
///
/// so the mixture moves toward the hint by a fixed share whatever the confidence,
///
///     m'_h = (m_h + s) / (1 + s),    m'_i = m_i / (1 + s)  for i != h,
///
/// and the concentration grows by the factor (1 + s). With the default s = 0.5 a hinted
/// emotion gets at least 1/3 of every frame's mixture; the prediction still shapes the rest.
/// s = 0 turns hints off. Scaling by c_t (rather than a constant) keeps the prior's weight
/// the same relative to the evidence for confident and unsure frames alike.
public enum EmotionHint {
    public static let defaultStrength = 0.5

    /// The track with the prior applied. The hint is matched to the track's emotion names
    /// ignoring case, through `EmotionVocabulary` ("anger" and "angry" are the same); an
    /// unknown hint throws, naming the emotions that exist.
    public static func apply(_ hint: String, strength: Double, to track: EmotionTrack) throws -> EmotionTrack {
        precondition(strength >= 0 && strength.isFinite, "EmotionHint: strength must be finite and >= 0")
        let wanted = EmotionVocabulary.canonicalName(hint) ?? hint.lowercased()
        guard
            let h = track.emotions.firstIndex(where: {
                (EmotionVocabulary.canonicalName($0) ?? $0.lowercased()) == wanted
            })
        else {
            throw BatchError(
                "line.emotion",
                "emotion hint \"\(hint)\" is not one of the model's emotions (\(track.emotions.joined(separator: ", ")))")
        }
        var result = track
        let k = track.emotionCount
        for frame in 0..<track.frameCount {
            let concentration = track.concentration(frame: frame)
            result.alpha[frame * k + h] += strength * concentration
        }
        return result
    }
}
