package io.mqttdynamo.broker.embedded;

import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

import jakarta.enterprise.context.ApplicationScoped;

import io.mqttdynamo.broker.InProcessBroker;
import io.quarkus.arc.profile.IfBuildProfile;
import io.smallrye.mutiny.Uni;

/**
 * The embedded broker as the delivery functions reach it (dev mode and tests only, as the broker itself): their
 * calls run on the event loop of its connections ({@link EmbeddedBrokerHandle#onConnectionsLoop}).
 */
@ApplicationScoped
@IfBuildProfile(anyOf = {"dev", "test"})
public class EmbeddedInProcessBroker implements InProcessBroker {

    private final EmbeddedBrokerService service;

    public EmbeddedInProcessBroker(EmbeddedBrokerService service) {
        this.service = service;
    }

    @Override
    public boolean running() {
        return service.broker().isPresent();
    }

    @Override
    public Uni<Boolean> subscribe(String clientId, Map<String, Integer> filters) {
        return onBroker(broker -> broker.subscribe(clientId, filters));
    }

    @Override
    public Uni<Boolean> deliverStored(
            String clientId, String hexId, String topic, byte[] payload, int qos, String sender) {
        return onBroker(broker -> broker.deliverStored(clientId, hexId, topic, payload, qos, sender));
    }

    @Override
    public String describe() {
        return "the embedded broker";
    }

    /** {@code call} on the running broker's connections' event loop; false when it does not run. */
    private Uni<Boolean> onBroker(Function<EmbeddedBrokerHandle, Boolean> call) {
        Optional<EmbeddedBrokerHandle> broker = service.broker();
        if (broker.isEmpty()) {
            return Uni.createFrom().item(false);
        }
        return Uni.createFrom()
                .completionStage(() -> broker.get()
                        .onConnectionsLoop(() -> call.apply(broker.get()))
                        .toCompletionStage());
    }
}
