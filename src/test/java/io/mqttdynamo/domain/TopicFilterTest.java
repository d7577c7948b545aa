package io.mqttdynamo.domain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class TopicFilterTest {

    @ParameterizedTest
    @CsvSource({
        "#, a, true",
        "#, a/b/c, true",
        "#, /, true",
        "#, $SYS/x, false",
        "+/#, $SYS/x, false",
        "$SYS/#, $SYS/brokers/n/clients, true",
        "a/#, a, true",
        "a/#, a/b, true",
        "a/#, ab, false",
        "a/+, a/b, true",
        "a/+, a/, true",
        "a/+, a, false",
        "a/+, a/b/c, false",
        "+, a, true",
        "+, a/b, false",
        "+/+, /, true",
        "a/b, a/b, true",
        "a/b, a/bc, false",
        "a/b, a/b/, false",
        "sensors/+/temp, sensors/1/temp, true",
        "sensors/+/temp, sensors/1/hum, false",
        "$share/g/a/+, a/b, true",
        "$share/g/a/+, b/b, false",
        "$queue/a/#, a/b, true"
    })
    void matchesAsMqttSays(String filter, String topic, boolean matches) {
        assertThat(TopicFilter.parse(filter).matches(topic)).isEqualTo(matches);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "a/#/b", "a#", "a/b+", "$share/g", "$share//a", "$share/g/"})
    void refusesInvalidFilters(String filter) {
        assertThatThrownBy(() -> TopicFilter.parse(filter)).isInstanceOf(IllegalArgumentException.class);
    }
}
