package io.mqttdynamo.web;

import java.util.Base64;
import java.util.HexFormat;

import io.mqttdynamo.domain.Payloads;

/**
 * How a payload is shown: text when it is UTF-8, else a hex preview and base64. The text is shown as
 * text (escaped by the templates), never as markup: payloads come from anyone who may publish.
 *
 * <p>Two different things can be missing: {@code truncated}, the stored item holds no payload (it was
 * too large for DynamoDB, {@code payload_truncated}); {@code previewCut}, what is shown here is only the
 * start of a payload (in-memory previews of recent messages keep its first kilobyte).
 */
public record PayloadView(
        String text,
        String hexPreview,
        String base64,
        int size,
        boolean binary,
        boolean truncated,
        boolean previewCut) {

    private static final int PREVIEW_CHARS = 120;
    private static final int PREVIEW_BYTES = 32;

    /**
     * @param bytes the payload or its start (cut on a character boundary when it is text), null when
     *        none was kept
     * @param size the whole payload's size
     * @param binary whether the payload is not UTF-8 text
     * @param leftOut whether the stored item holds no payload
     */
    public static PayloadView of(byte[] bytes, int size, boolean binary, boolean leftOut) {
        if (bytes == null) {
            return new PayloadView(null, null, null, size, binary, true, false);
        }
        boolean cut = bytes.length < size;
        String text = binary ? null : Payloads.utf8(bytes).orElse(null);
        if (text != null) {
            return new PayloadView(text, null, null, size, false, leftOut, cut);
        }
        byte[] head = bytes.length > PREVIEW_BYTES ? java.util.Arrays.copyOf(bytes, PREVIEW_BYTES) : bytes;
        return new PayloadView(
                null,
                HexFormat.ofDelimiter(" ").formatHex(head) + (bytes.length > PREVIEW_BYTES ? " …" : ""),
                Base64.getEncoder().encodeToString(bytes),
                size,
                true,
                leftOut,
                cut);
    }

    /** A one-line preview, cut between characters (never inside a surrogate pair). */
    public String preview() {
        if (text != null) {
            String oneLine = text.replaceAll("\\s+", " ");
            if (oneLine.codePointCount(0, oneLine.length()) > PREVIEW_CHARS) {
                return oneLine.substring(0, oneLine.offsetByCodePoints(0, PREVIEW_CHARS)) + "…";
            }
            return previewCut ? oneLine + "…" : oneLine;
        }
        if (hexPreview != null) {
            return "0x " + hexPreview;
        }
        return "(" + size + " bytes, not stored)";
    }
}
