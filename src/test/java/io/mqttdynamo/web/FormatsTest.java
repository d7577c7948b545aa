package io.mqttdynamo.web;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The chart's axes read in round numbers, and the series fit under them. */
class FormatsTest {

    @Test
    void anAxisEndsAtOneTwoOrFiveTimesAPowerOfTen() {
        assertThat(Formats.scale(new double[] {0, 0})).isEqualTo(1);
        assertThat(Formats.scale(new double[] {0.8})).isEqualTo(1);
        assertThat(Formats.scale(new double[] {1})).isEqualTo(1);
        assertThat(Formats.scale(new double[] {1.01})).isEqualTo(2);
        assertThat(Formats.scale(new double[] {37, 3})).isEqualTo(50);
        assertThat(Formats.scale(new double[] {120})).isEqualTo(200);
        assertThat(Formats.scale(new double[] {0.03})).isEqualTo(0.05);
    }

    @Test
    void labelsNameTheTopAndTheMiddleOfTheAxis() {
        assertThat(Formats.top(new double[] {0})).isEqualTo("1");
        assertThat(Formats.middle(new double[] {0})).isEqualTo("0.5");
        assertThat(Formats.top(new double[] {37})).isEqualTo("50");
        assertThat(Formats.middle(new double[] {37})).isEqualTo("25");
        assertThat(Formats.top(new double[] {0.03})).isEqualTo("0.05");
        assertThat(Formats.middle(new double[] {0.03})).isEqualTo("0.025");
    }

    @Test
    void theLargestValueReachesTheAxisTopNotTheChartTop() {
        // 37 on an axis to 50: 74 % of the height (60 units, 1 unit of margin at each end).
        String[] points = Formats.points(new double[] {0, 37}).split(" ");
        assertThat(points[0]).isEqualTo("0.0,59.0");
        assertThat(points[1])
                .isEqualTo("300.0," + String.format(java.util.Locale.ROOT, "%.1f", 60 - 37 / 50.0 * 58 - 1));
    }
}
