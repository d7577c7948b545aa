package io.mqttdynamo.web;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

import io.mqttdynamo.broker.BrokerSessions;
import io.mqttdynamo.broker.ChannelSession;

/** Ready when every ingest channel's MQTT session is connected. */
@Readiness
@ApplicationScoped
public class BrokerHealthCheck implements HealthCheck {

    private final BrokerSessions sessions;

    public BrokerHealthCheck(BrokerSessions sessions) {
        this.sessions = sessions;
    }

    @Override
    public HealthCheckResponse call() {
        HealthCheckResponseBuilder response =
                HealthCheckResponse.named("mqtt-broker").withData("broker", sessions.address());
        boolean up = !sessions.sessions().isEmpty();
        for (var entry : sessions.sessions().entrySet()) {
            ChannelSession session = entry.getValue();
            boolean connected = session.connected();
            up &= connected;
            response.withData(
                    entry.getKey(),
                    connected
                            ? "connected as " + session.clientId() + " (" + session.version() + "), topic "
                                    + session.topic()
                            : "disconnected: " + session.lastProblem());
        }
        if (sessions.sessions().isEmpty()) {
            response.withData("sessions", "none yet");
        }
        return response.status(up).build();
    }
}
