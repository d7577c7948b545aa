package io.mqttdynamo.broker.embedded;

import java.util.Map;
import java.util.function.Supplier;

import io.vertx.core.Future;

/**
 * What the service asks of the running embedded broker. In dev mode that broker may have been started by an
 * earlier live reload's application, from classes of another class loader ({@link KeptBroker}): its methods are
 * then reached through this interface by name, so they take and return the JDK's and Vert.x's types only.
 */
public interface EmbeddedBrokerHandle {

    /**
     * Subscribes a client's session on its behalf, as EMQX's subscribe API does: the filters it does not
     * hold yet are added (retained messages sent for them), a subscribed event is emitted for each.
     *
     * @param filters topic filter to QoS
     * @return false when the broker has no session of that client
     */
    boolean subscribe(String clientId, Map<String, Integer> filters);

    /**
     * Delivers a stored message to one client only, under the message's own id, at the QoS of the client's
     * best non-shared subscription matching the topic. Nothing is published: no envelope, no other subscriber.
     *
     * @param hexId the message's GUID as 32 hex digits
     * @return false when the client has no session or no subscription for the topic
     */
    boolean deliverStored(String clientId, String hexId, String topic, byte[] payload, int qos, String sender);

    /**
     * Runs {@code task} on the event loop that serves the connections, where calls that write to a connection
     * (a subscription made or a stored message delivered on a client's behalf) must run: from another thread they
     * would take the broker's lock and then the connection's, the reverse of the event loop's order.
     */
    <T> Future<T> onConnectionsLoop(Supplier<T> task);

    /** Stops listening; connected clients are disconnected. */
    Future<Void> stop();
}
