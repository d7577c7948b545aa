package io.mqttdynamo.web;

import java.util.Base64;
import java.util.HexFormat;

import io.mqttdynamo.domain.Payloads;

/**
 * How a payload is shown: text when it is UTF-8, else a hex preview and base64. The text is shown as
 * text (escaped by the templates), never as markup: payloads come from anyone who may publish.
 */
public record PayloadView(String text, String hexPreview, String base64, int size, boolean binary,
        boolean truncated) {

    private static final int PREVIEW_CHARS = 120;
    private static final int PREVIEW_BYTES = 32;

    /**
     * @param bytes the payload (or its start), null when it was too large to store
     * @param size the whole payload's size
     */
    public static PayloadView of(byte[] bytes, int size, boolean binary) {
        if (bytes == null) {
            return new PayloadView(null, null, null, size, binary, true);
        }
        String text = binary ? null : Payloads.utf8(bytes).orElse(null);
        if (text != null) {
            return new PayloadView(text, null, null, size, false, bytes.length < size);
        }
        byte[] head = bytes.length > PREVIEW_BYTES ? java.util.Arrays.copyOf(bytes, PREVIEW_BYTES) : bytes;
        return new PayloadView(null, HexFormat.ofDelimiter(" ").formatHex(head)
                + (bytes.length > PREVIEW_BYTES ? " …" : ""), Base64.getEncoder().encodeToString(bytes), size, true,
                bytes.length < size);
    }

    /** A one-line preview. */
    public String preview() {
        if (text != null) {
            String oneLine = text.replaceAll("\\s+", " ");
            return oneLine.length() > PREVIEW_CHARS ? oneLine.substring(0, PREVIEW_CHARS) + "…" : oneLine;
        }
        if (hexPreview != null) {
            return "0x " + hexPreview;
        }
        return "(" + size + " bytes, not stored)";
    }
}
