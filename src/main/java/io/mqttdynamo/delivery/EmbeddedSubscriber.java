package io.mqttdynamo.delivery;

import java.util.Map;

import io.mqttdynamo.broker.embedded.EmbeddedBrokerHandle;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;

/** Subscribes clients on the embedded broker directly. */
final class EmbeddedSubscriber implements BrokerSubscriber {

    private final EmbeddedBrokerHandle broker;

    EmbeddedSubscriber(EmbeddedBrokerHandle broker) {
        this.broker = broker;
    }

    @Override
    public Uni<Outcome> subscribe(String clientId, Map<String, Integer> filters) {
        return Uni.createFrom().item(() -> broker.subscribe(clientId, filters) ? Outcome.SUBSCRIBED : Outcome.CLIENT_GONE)
                .runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
    }

    @Override
    public String describe() {
        return "the embedded broker";
    }
}
