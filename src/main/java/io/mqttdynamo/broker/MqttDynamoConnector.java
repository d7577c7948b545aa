package io.mqttdynamo.broker;

import java.util.Optional;
import java.util.concurrent.Flow;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.eclipse.microprofile.reactive.messaging.spi.Connector;

import io.quarkus.logging.Log;
import io.smallrye.mutiny.Multi;
import io.smallrye.reactive.messaging.connector.InboundConnector;

/**
 * The SmallRye Reactive Messaging connector {@value #NAME}: each incoming channel that names it gets
 * its own persistent MQTT session, whose messages reach the broker's PUBACK only when the consumer
 * acks them. Channel attributes: {@code max-message-size} (bytes).
 */
@ApplicationScoped
@Connector(MqttDynamoConnector.NAME)
public class MqttDynamoConnector implements InboundConnector {

    public static final String NAME = "mqtt-dynamo";

    private final BrokerSessions sessions;
    private final ChannelTopics topics;

    public MqttDynamoConnector(BrokerSessions sessions, ChannelTopics topics) {
        this.sessions = sessions;
        this.topics = topics;
    }

    @Override
    public Flow.Publisher<? extends Message<?>> getPublisher(Config config) {
        String channel = config.getValue("channel-name", String.class);
        Optional<String> topic = topics.topicFor(channel);
        if (topic.isEmpty()) {
            Log.infof("MQTT channel %s is off (no topic configured)", channel);
            return Multi.createFrom().nothing();
        }
        int maxMessageSize =
                config.getOptionalValue("max-message-size", Integer.class).orElse(Integer.MAX_VALUE);
        return sessions.open(channel, topic.get(), maxMessageSize).onItem().transformToMulti(ChannelSession::messages);
    }
}
