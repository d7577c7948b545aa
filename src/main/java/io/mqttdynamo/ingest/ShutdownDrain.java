package io.mqttdynamo.ingest;

import java.time.Duration;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.mqttdynamo.config.Lifecycle;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.store.WritePipeline;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.smallrye.mutiny.TimeoutException;

/**
 * On SIGTERM: stop taking messages, let the writes already taken reach DynamoDB (so their messages are
 * acknowledged), then let the MQTT sessions close. Messages not taken stay with the broker's session.
 */
@ApplicationScoped
public class ShutdownDrain {

    private final WritePipeline pipeline;
    private final Duration timeout;

    public ShutdownDrain(WritePipeline pipeline, MqttDynamoConfig config) {
        this.pipeline = pipeline;
        this.timeout = config.store().drainTimeout();
    }

    void onStop(@Observes @Priority(Lifecycle.STOP_DRAIN_WRITES) ShutdownEvent event) {
        int pending = pipeline.pending();
        try {
            // Blocking is right here: this is the shutdown thread, and shutdown must wait for the drain.
            pipeline.drain().await().atMost(timeout);
            if (pending > 0) {
                Log.infof("stored %d pending write(s) before stopping", pending);
            }
        } catch (TimeoutException e) {
            Log.warnf(
                    "%d write(s) not stored within %s; their messages stay unacknowledged and the broker"
                            + " redelivers them",
                    pipeline.pending(), timeout);
        } catch (RuntimeException e) {
            Log.warnf("draining writes failed: %s", e.getMessage());
        }
    }
}
