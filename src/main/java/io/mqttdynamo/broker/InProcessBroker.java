package io.mqttdynamo.broker;

import java.util.Map;

import io.smallrye.mutiny.Uni;

/**
 * A broker running in the service's own process (the embedded one, in dev mode and tests only), whose sessions
 * the delivery functions reach directly instead of through a broker's API or a republication. No bean of it
 * exists in the product: the delivery functions find none and use the external broker's ways.
 */
public interface InProcessBroker {

    /** True while it runs (it is enabled and started). */
    boolean running();

    /**
     * Subscribes a client's session on its behalf, as EMQX's subscribe API does.
     *
     * @param filters topic filter to QoS
     * @return false when the broker has no session of that client
     */
    Uni<Boolean> subscribe(String clientId, Map<String, Integer> filters);

    /**
     * Delivers a stored message to one client only, under the message's own id, without publishing it.
     *
     * @param hexId the message's GUID as 32 hex digits
     * @return false when the client has no session or no subscription for the topic
     */
    Uni<Boolean> deliverStored(String clientId, String hexId, String topic, byte[] payload, int qos, String sender);

    /** How logs name it. */
    String describe();
}
