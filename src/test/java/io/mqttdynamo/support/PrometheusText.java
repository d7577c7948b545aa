package io.mqttdynamo.support;

/** Reads one series out of a Prometheus text page. */
public final class PrometheusText {

    private PrometheusText() {}

    /** The value of {@code series} (name with labels, as printed), 0 when absent. */
    public static double value(String page, String series) {
        return page.lines()
                .filter(line -> line.startsWith(series + " "))
                .mapToDouble(line ->
                        Double.parseDouble(line.substring(series.length() + 1).trim()))
                .findFirst()
                .orElse(0);
    }
}
