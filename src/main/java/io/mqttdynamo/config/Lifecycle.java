package io.mqttdynamo.config;

/**
 * The order of start-up and shutdown work (CDI observer priorities: lower runs first), in one place.
 *
 * <p>Start: the configuration check (a wrong setting stops the service before anything starts or connects),
 * the local DynamoDB server, the embedded broker, then the table check; ingest channels open as SmallRye
 * Reactive Messaging starts (its own start-up observer, at priority 1000). Stop: drain the writes already taken (so their messages are
 * acknowledged), close the MQTT sessions, then stop the embedded broker and the local DynamoDB server.
 */
public final class Lifecycle {

    public static final int CHECK_CONFIGURATION = 0;
    public static final int START_LOCAL_DYNAMODB = 10;
    public static final int START_EMBEDDED_BROKER = 20;
    public static final int START_TABLES = 100;

    /** Only when the replica leaves for good: unsubscribe, store what the sessions hold, end them. */
    public static final int STOP_LEAVE_SESSIONS = 5;

    public static final int STOP_DRAIN_WRITES = 10;
    public static final int STOP_MQTT_SESSIONS = 20;
    public static final int STOP_EMBEDDED_BROKER = 1020;
    public static final int STOP_LOCAL_DYNAMODB = 2010;

    private Lifecycle() {}
}
