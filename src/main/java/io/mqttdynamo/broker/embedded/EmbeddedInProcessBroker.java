package io.mqttdynamo.broker.embedded;

import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;

import io.mqttdynamo.broker.InProcessBroker;
import io.quarkus.arc.profile.IfBuildProfile;

/** The embedded broker as the delivery functions reach it (dev mode and tests only, as the broker itself). */
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
    public boolean subscribe(String clientId, Map<String, Integer> filters) {
        return service.broker().map(broker -> broker.subscribe(clientId, filters)).orElse(false);
    }

    @Override
    public boolean deliverStored(String clientId, String hexId, String topic, byte[] payload, int qos,
            String sender) {
        return service.broker().map(broker -> broker.deliverStored(clientId, hexId, topic, payload, qos, sender))
                .orElse(false);
    }

    @Override
    public String describe() {
        return "the embedded broker";
    }
}
