package io.mqttdynamo.ingest;

/** Makes text from MQTT (topics, client ids, error details) safe and short for a log line. */
public final class LogSafe {

    private static final int MAX = 200;

    private LogSafe() {}

    public static String of(String text) {
        if (text == null) {
            return "";
        }
        StringBuilder out = new StringBuilder(Math.min(text.length(), MAX) + 8);
        for (int i = 0; i < text.length() && out.length() < MAX; i++) {
            char c = text.charAt(i);
            out.append(Character.isISOControl(c) ? '?' : c);
        }
        if (text.length() > MAX) {
            out.append('…');
        }
        return out.toString();
    }
}
