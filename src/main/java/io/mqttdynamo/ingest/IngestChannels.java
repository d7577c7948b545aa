package io.mqttdynamo.ingest;

import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigValue;

import io.mqttdynamo.broker.ChannelTopics;
import io.mqttdynamo.config.MqttDynamoConfig;

/**
 * The three ingest channels and the topic filter each subscribes to; the connector asks it as it opens each
 * channel, after {@link StartupCheck} has passed the settings.
 */
@ApplicationScoped
public class IngestChannels implements ChannelTopics {

    /** Client lifecycle and subscription events ({@code $SYS/brokers/+/clients/#}). */
    public static final String CLIENT_EVENTS = "client-events";
    /** Published messages, raw or as envelopes. */
    public static final String MESSAGES = "messages";
    /** Acknowledgement envelopes. */
    public static final String ACKS = "acks";

    private final MqttDynamoConfig config;
    private final Config rawConfig;

    public IngestChannels(MqttDynamoConfig config, Config rawConfig) {
        this.config = config;
        this.rawConfig = rawConfig;
    }

    /** An empty setting ({@code MQTT_DYNAMO_ACKS_TOPIC=}) or {@code none} turns the acks channel off. */
    private boolean acksOff() {
        ConfigValue value = rawConfig.getConfigValue("mqtt-dynamo.acks.topic");
        String raw = value == null ? null : value.getRawValue();
        boolean setEmpty = raw != null && raw.isBlank() && value.getSourceName() != null;
        return setEmpty
                || config.acks()
                        .topic()
                        .filter(t -> !t.isBlank() && !t.equals("none"))
                        .isEmpty();
    }

    @Override
    public Optional<String> topicFor(String channel) {
        return switch (channel) {
            case CLIENT_EVENTS -> config.events().effectiveTopic();
            case MESSAGES -> Optional.of(config.messages().effectiveTopic());
            case ACKS -> acksOff() ? Optional.empty() : config.acks().topic();
            default -> Optional.empty();
        };
    }
}
