package io.mqttdynamo.web;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

import io.quarkus.qute.TemplateExtension;

/** Formatting for the templates ({@code {fmt:time(…)}} …), so that the HTML holds no logic. */
@TemplateExtension(namespace = "fmt")
public final class Formats {

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss'Z'").withZone(ZoneOffset.UTC);

    private Formats() {}

    /** Epoch milliseconds as a UTC time; "—" for 0 (never). */
    static String time(long millis) {
        return millis <= 0 ? "—" : TIME.format(Instant.ofEpochMilli(millis));
    }

    /** A byte count for people. */
    static String size(int bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        if (bytes < 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f KB", bytes / 1024.0);
        }
        return String.format(Locale.ROOT, "%.1f MB", bytes / (1024.0 * 1024));
    }

    /** A number with at most one decimal. */
    static String decimal(double value) {
        return String.format(Locale.ROOT, value >= 100 ? "%.0f" : "%.1f", value);
    }

    /** Percent-encodes text for a URL path segment or query value (MQTT text may hold any character). */
    static String url(String text) {
        StringBuilder out = new StringBuilder();
        for (byte b : (text == null ? "" : text).getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xFF);
            if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || "-._~".indexOf(c) >= 0) {
                out.append(c);
            } else {
                out.append('%').append(String.format("%02X", b & 0xFF));
            }
        }
        return out.toString();
    }

    /** Chart size in SVG user units. */
    static final int CHART_WIDTH = 300;

    static final int CHART_HEIGHT = 60;

    /**
     * SVG polyline points of a series, scaled to its axis ({@link #scale}: the top of the chart); the newest
     * sample at the right edge, one a second, so that the minute lines sit at x = (299 - 60 k) * 300 / 299.
     */
    static String points(double[] values) {
        double max = scale(values);
        StringBuilder points = new StringBuilder(values.length * 10);
        double step = values.length > 1 ? (double) CHART_WIDTH / (values.length - 1) : 0;
        for (int i = 0; i < values.length; i++) {
            double y = CHART_HEIGHT - (max <= 0 ? 0 : values[i] / max * (CHART_HEIGHT - 2)) - 1;
            points.append(String.format(Locale.ROOT, "%.1f,%.1f ", i * step, y));
        }
        return points.toString().trim();
    }

    /**
     * The top of a series' axis: the smallest 1, 2 or 5 times a power of ten that is not below its largest value
     * (1 for a series of zeros), so that the axis reads in round numbers.
     */
    static double scale(double[] values) {
        double max = max(values);
        if (max <= 0) {
            return 1;
        }
        double power = Math.pow(10, Math.floor(Math.log10(max)));
        for (double step : new double[] {1, 2, 5, 10}) {
            if (step * power >= max * (1 - 1e-9)) {
                return step * power;
            }
        }
        return 10 * power;
    }

    /** The label at the top of a series' axis. */
    static String top(double[] values) {
        return axisLabel(scale(values));
    }

    /** The label half-way up a series' axis. */
    static String middle(double[] values) {
        return axisLabel(scale(values) / 2);
    }

    private static String axisLabel(double value) {
        return value >= 1 && value == Math.rint(value)
                ? String.format(Locale.ROOT, "%.0f", value)
                : BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
    }

    /** The largest value of a series, as {@link #decimal} writes it. */
    static String peak(double[] values) {
        return decimal(max(values));
    }

    /** The largest value of a series, 0 for none. */
    static double max(double[] values) {
        double max = 0;
        for (double v : values) {
            max = Math.max(max, v);
        }
        return max;
    }
}
