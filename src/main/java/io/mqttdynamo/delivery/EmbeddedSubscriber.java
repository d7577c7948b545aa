package io.mqttdynamo.delivery;

import java.util.Map;

import io.mqttdynamo.broker.InProcessBroker;
import io.smallrye.mutiny.Uni;

/** Subscribes clients on the broker in the service's process (the embedded one) directly. */
final class EmbeddedSubscriber implements BrokerSubscriber {

    private final InProcessBroker broker;

    EmbeddedSubscriber(InProcessBroker broker) {
        this.broker = broker;
    }

    @Override
    public Uni<Outcome> subscribe(String clientId, Map<String, Integer> filters) {
        return broker.subscribe(clientId, filters).map(held -> held ? Outcome.SUBSCRIBED : Outcome.CLIENT_GONE);
    }

    @Override
    public String describe() {
        return broker.describe();
    }
}
