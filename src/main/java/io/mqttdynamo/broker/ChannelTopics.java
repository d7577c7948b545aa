package io.mqttdynamo.broker;

import java.util.Optional;

/** Tells the connector which topic filter a channel subscribes to; empty leaves the channel idle. */
public interface ChannelTopics {

    Optional<String> topicFor(String channel);
}
