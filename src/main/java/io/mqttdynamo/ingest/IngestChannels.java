package io.mqttdynamo.ingest;

import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;

import io.mqttdynamo.broker.ChannelTopics;
import io.mqttdynamo.config.MqttDynamoConfig;

/** The three ingest channels and the topic filter each subscribes to. */
@ApplicationScoped
public class IngestChannels implements ChannelTopics {

    /** Client lifecycle and subscription events ({@code $SYS/brokers/+/clients/+/+}). */
    public static final String CLIENT_EVENTS = "client-events";
    /** Published messages, raw or as envelopes. */
    public static final String MESSAGES = "messages";
    /** Acknowledgement envelopes. */
    public static final String ACKS = "acks";

    private final MqttDynamoConfig config;

    public IngestChannels(MqttDynamoConfig config) {
        this.config = config;
    }

    @Override
    public Optional<String> topicFor(String channel) {
        return switch (channel) {
            case CLIENT_EVENTS -> config.events().effectiveTopic();
            case MESSAGES -> Optional.of(config.messages().effectiveTopic());
            case ACKS -> config.acks().topic().filter(t -> !t.isBlank());
            default -> Optional.empty();
        };
    }
}
