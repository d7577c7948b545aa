package io.mqttdynamo.domain;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Comparator;
import java.util.HexFormat;

/**
 * EMQX message ids: a 128-bit time-ordered GUID (64-bit microsecond timestamp, 48-bit node, 16-bit
 * sequence) written the way the EMQX DynamoDB backend stores it, as EMQX's base62 form of the GUID's
 * decimal string.
 *
 * <p>The base62 form is base64 over the alphabet {@code A-Z a-z 0-8} where the indexes 61, 62 and 63
 * are written {@code 9A}, {@code 9B} and {@code 9C}, and where a trailing partial group is not padded:
 * two trailing bytes become 6, 6 and 4 bits, one trailing byte 6 and 2 bits.
 */
public final class EmqxMsgId {

    private static final char[] ALPHABET =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz012345678".toCharArray();

    /**
     * The longest msgid: a GUID's decimal string has at most 39 digits (2^128 - 1), which are 13 groups of
     * three ASCII digits and so 52 indexes; no index of ASCII digits reaches 61, so none takes the two-character
     * escape.
     */
    public static final int MAX_LENGTH = 52;

    /** Msgids in the order of their GUIDs (time, then node and sequence); ids of another form last, by text. */
    public static final Comparator<String> OLDEST_FIRST = Comparator.comparing(
                    EmqxMsgId::decodeOrNull, Comparator.nullsLast(Comparator.naturalOrder()))
            .thenComparing(Comparator.naturalOrder());

    private final long node;
    private long lastMicros;
    private int sequence;

    /** A generator for this process: a random 48-bit node id stands for EMQX's node and pid. */
    public EmqxMsgId() {
        this(new SecureRandom().nextLong() & 0xFFFF_FFFF_FFFFL);
    }

    EmqxMsgId(long node) {
        this.node = node & 0xFFFF_FFFF_FFFFL;
    }

    /** A new id, strictly greater than the previous one from this generator. */
    public String next() {
        return encode(nextGuid());
    }

    /** A new GUID as 16 bytes. */
    public synchronized byte[] nextGuid() {
        long micros = System.currentTimeMillis() * 1000L + (System.nanoTime() / 1000L) % 1000L;
        if (micros <= lastMicros) {
            micros = lastMicros;
            sequence++;
            if (sequence > 0xFFFF) {
                micros++;
                sequence = 0;
            }
        } else {
            sequence = 0;
        }
        lastMicros = micros;
        byte[] guid = new byte[16];
        for (int i = 0; i < 8; i++) {
            guid[i] = (byte) (micros >>> (56 - 8 * i));
        }
        for (int i = 0; i < 6; i++) {
            guid[8 + i] = (byte) (node >>> (40 - 8 * i));
        }
        guid[14] = (byte) (sequence >>> 8);
        guid[15] = (byte) sequence;
        return guid;
    }

    /** The msgid of a GUID given as EMQX prints it in rule events: 32 hex digits. */
    public static String fromHex(String hex) {
        if (hex == null || hex.length() != 32) {
            throw new IllegalArgumentException("an EMQX message id has 32 hex digits, got: " + hex);
        }
        return encode(HexFormat.of().parseHex(hex));
    }

    /** The msgid of a 16-byte GUID. */
    public static String encode(byte[] guid) {
        String decimal = new BigInteger(1, guid).toString();
        return base62(decimal.getBytes(StandardCharsets.US_ASCII));
    }

    /** The GUID a msgid stands for, as an unsigned integer. */
    public static BigInteger decode(String msgId) {
        String decimal = new String(unbase62(msgId), StandardCharsets.US_ASCII);
        try {
            return new BigInteger(decimal);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not an EMQX msgid: " + msgId);
        }
    }

    private static BigInteger decodeOrNull(String msgId) {
        try {
            return decode(msgId);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** The microsecond timestamp inside a msgid: ids sort by it. */
    public static long timestampMicros(String msgId) {
        return decode(msgId).shiftRight(64).longValue();
    }

    static String base62(byte[] data) {
        StringBuilder out = new StringBuilder(data.length * 2);
        int i = 0;
        for (; i + 3 <= data.length; i += 3) {
            int group = (data[i] & 0xFF) << 16 | (data[i + 1] & 0xFF) << 8 | (data[i + 2] & 0xFF);
            append(out, group >>> 18);
            append(out, (group >>> 12) & 0x3F);
            append(out, (group >>> 6) & 0x3F);
            append(out, group & 0x3F);
        }
        int rest = data.length - i;
        if (rest == 2) {
            int group = (data[i] & 0xFF) << 8 | (data[i + 1] & 0xFF);
            append(out, group >>> 10);
            append(out, (group >>> 4) & 0x3F);
            append(out, group & 0x0F);
        } else if (rest == 1) {
            int b = data[i] & 0xFF;
            append(out, b >>> 2);
            append(out, b & 0x03);
        }
        return out.toString();
    }

    static byte[] unbase62(String text) {
        int[] indexes = new int[text.length()];
        int count = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            int index;
            if (c == '9') {
                if (i + 1 >= text.length()) {
                    throw new IllegalArgumentException("not an EMQX msgid: " + text);
                }
                char next = text.charAt(++i);
                index = switch (next) {
                    case 'A' -> 61;
                    case 'B' -> 62;
                    case 'C' -> 63;
                    default -> throw new IllegalArgumentException("not an EMQX msgid: " + text);
                };
            } else {
                index = indexOf(c);
                if (index < 0) {
                    throw new IllegalArgumentException("not an EMQX msgid: " + text);
                }
            }
            indexes[count++] = index;
        }
        int full = count / 4;
        int rest = count % 4;
        if (rest == 1) {
            throw new IllegalArgumentException("not an EMQX msgid: " + text);
        }
        byte[] out = new byte[full * 3 + (rest == 3 ? 2 : rest == 2 ? 1 : 0)];
        int o = 0;
        int k = 0;
        for (int g = 0; g < full; g++) {
            int group = indexes[k++] << 18 | indexes[k++] << 12 | indexes[k++] << 6 | indexes[k++];
            out[o++] = (byte) (group >>> 16);
            out[o++] = (byte) (group >>> 8);
            out[o++] = (byte) group;
        }
        if (rest == 3) {
            int group = indexes[k] << 10 | indexes[k + 1] << 4 | (indexes[k + 2] & 0x0F);
            out[o++] = (byte) (group >>> 8);
            out[o] = (byte) group;
        } else if (rest == 2) {
            out[o] = (byte) (indexes[k] << 2 | (indexes[k + 1] & 0x03));
        }
        return out;
    }

    private static void append(StringBuilder out, int index) {
        if (index < 61) {
            out.append(ALPHABET[index]);
        } else {
            out.append('9').append((char) ('A' + index - 61));
        }
    }

    private static int indexOf(char c) {
        if (c >= 'A' && c <= 'Z') {
            return c - 'A';
        }
        if (c >= 'a' && c <= 'z') {
            return 26 + c - 'a';
        }
        if (c >= '0' && c <= '8') {
            return 52 + c - '0';
        }
        return -1;
    }
}
