package io.mqttdynamo.domain;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/** MQTT payloads are bytes: text only when they are valid UTF-8. */
public final class Payloads {

    private Payloads() {}

    /** The text of {@code bytes} when they are valid UTF-8, else empty. */
    public static Optional<String> utf8(byte[] bytes) {
        try {
            return Optional.of(StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString());
        } catch (CharacterCodingException e) {
            return Optional.empty();
        }
    }

    /**
     * How many of the first {@code maxBytes} bytes of UTF-8 text {@code bytes} can be kept without cutting
     * a character in half: {@code maxBytes}, or less down to the start of the character it would cut.
     */
    public static int utf8Prefix(byte[] bytes, int maxBytes) {
        if (bytes.length <= maxBytes) {
            return bytes.length;
        }
        int cut = Math.max(0, maxBytes);
        // a continuation byte (10xxxxxx) at the cut belongs to the character before it
        while (cut > 0 && (bytes[cut] & 0xC0) == 0x80) {
            cut--;
        }
        return cut;
    }
}
