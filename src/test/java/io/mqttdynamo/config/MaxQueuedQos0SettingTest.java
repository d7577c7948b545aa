package io.mqttdynamo.config;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import io.smallrye.config.SmallRyeConfigBuilder;

/** mqtt-dynamo.broker.max-queued-qos0: 10,000 unless set, and refused at start-up outside 1 to 10,000,000. */
class MaxQueuedQos0SettingTest {

    private static MqttDynamoConfig config(String maxQueuedQos0) {
        SmallRyeConfigBuilder builder = new SmallRyeConfigBuilder().withMapping(MqttDynamoConfig.class);
        if (maxQueuedQos0 != null) {
            builder.withDefaultValue("mqtt-dynamo.broker.max-queued-qos0", maxQueuedQos0);
        }
        return builder.build().getConfigMapping(MqttDynamoConfig.class);
    }

    @Test
    void tenThousandUnlessSet() {
        MqttDynamoConfig config = config(null);
        assertThat(config.broker().maxQueuedQos0()).isEqualTo(10_000);
        assertThat(ConfigCheck.problems(config)).isEmpty();
    }

    @Test
    void zeroAndTooManyAreRefused() {
        assertThat(ConfigCheck.problems(config("0")))
                .containsExactly("mqtt-dynamo.broker.max-queued-qos0 = 0: must be from 1 to 10000000");
        assertThat(ConfigCheck.problems(config("10000001"))).hasSize(1);
        assertThat(ConfigCheck.problems(config("1"))).isEmpty();
    }
}
