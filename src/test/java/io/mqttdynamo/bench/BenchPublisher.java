package io.mqttdynamo.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;

/** One MQTT 5 client publishing QoS 1 with up to {@value #MAX_IN_FLIGHT} unacknowledged messages. */
final class BenchPublisher implements AutoCloseable {

    /** Messages published and not yet acknowledged at most. */
    static final int MAX_IN_FLIGHT = 500;

    private final BenchSettings settings;
    private final Mqtt5AsyncClient client;
    final AtomicLong errors = new AtomicLong();
    private final long node = ThreadLocalRandom.current().nextLong() & 0xFFFF_FFFF_FFFFL;
    private final String clientId;

    private BenchPublisher(BenchSettings settings, Mqtt5AsyncClient client, String clientId) {
        this.settings = settings;
        this.client = client;
        this.clientId = clientId;
    }

    /**
     * Publishes {@code count} messages with sequence numbers from {@code base}; paced at {@code rate} per
     * second when positive; records System.nanoTime() before each publish in {@code times} when given.
     */
    void publishAll(String mode, long base, int count, double rate, long[] times) {
        Semaphore inFlight = new Semaphore(MAX_IN_FLIGHT);
        long start = System.nanoTime();
        // The envelope's publish_received_at and id: the time of publishing (the service's latency starts there),
        // one microsecond apart at least so that ids stay unique.
        long micros = 0;
        for (int i = 0; i < count; i++) {
            if (rate > 0) {
                long due = start + (long) (i * 1e9 / rate);
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    LockSupport.parkNanos(wait);
                }
            }
            try {
                if (!inFlight.tryAcquire(settings.stall().toSeconds(), TimeUnit.SECONDS)) {
                    BenchSupport.log(
                            "publisher: no PUBACK for %d s, stopping at %d of %d",
                            settings.stall().toSeconds(), i, count);
                    return;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            long seq = base + i;
            String topic = settings.topic(i);
            byte[] body;
            if (mode.equals("envelope")) {
                micros = Math.max(System.currentTimeMillis() * 1000, micros + 1);
                body = envelope(seq, topic, micros).getBytes(StandardCharsets.UTF_8);
            } else {
                body = settings.payload(seq).getBytes(StandardCharsets.UTF_8);
            }
            if (times != null) {
                times[i] = System.nanoTime();
            }
            client.publishWith()
                    .topic(mode.equals("envelope") ? BenchSettings.ENVELOPE_TOPIC : topic)
                    .qos(MqttQos.AT_LEAST_ONCE)
                    .payload(body)
                    .send()
                    .whenComplete((result, failure) -> {
                        if (failure != null || result.getError().isPresent()) {
                            errors.incrementAndGet();
                        }
                        inFlight.release();
                    });
        }
        try {
            if (!inFlight.tryAcquire(MAX_IN_FLIGHT, settings.stall().toSeconds(), TimeUnit.SECONDS)) {
                BenchSupport.log(
                        "publisher: PUBACKs missing after %d s",
                        settings.stall().toSeconds());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The EMQX rule envelope a broker would republish for this message. */
    private String envelope(long seq, String topic, long micros) {
        byte[] guid = new byte[16];
        ByteBuffer.wrap(guid).putLong(micros).putLong(node << 16 | (seq & 0xFFFF));
        ObjectNode envelope = BenchSupport.JSON.createObjectNode();
        envelope.put("id", HexFormat.of().formatHex(guid));
        envelope.put("clientid", clientId);
        envelope.put("username", "");
        envelope.put("topic", topic);
        envelope.put("qos", 1);
        envelope.putObject("flags").put("retain", false).put("dup", false);
        envelope.put("payload", settings.payload(seq));
        envelope.put("publish_received_at", micros / 1000);
        envelope.put("timestamp", micros / 1000);
        envelope.put("node", "bench@127.0.0.1");
        try {
            return new ObjectMapper().writeValueAsString(envelope);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A publisher connected to the broker on {@code port} with a clean session. */
    static BenchPublisher connect(BenchSettings settings, int port, String clientId) throws Exception {
        Mqtt5AsyncClient client = MqttClient.builder()
                .useMqttVersion5()
                .identifier(clientId)
                .serverHost("127.0.0.1")
                .serverPort(port)
                .buildAsync();
        client.connectWith().cleanStart(true).send().get(30, TimeUnit.SECONDS);
        return new BenchPublisher(settings, client, clientId);
    }

    @Override
    public void close() throws Exception {
        client.disconnect().get(5, TimeUnit.SECONDS);
    }
}
