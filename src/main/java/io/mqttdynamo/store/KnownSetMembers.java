package io.mqttdynamo.store;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What the pipeline knows of the capped sets it writes (mqtt_topic_msg_map.MsgId): the members it read when a
 * set was last found full, plus its own additions and removals since. A full set is then trimmed from this
 * knowledge without reading it again; when the knowledge is wrong (another replica added to the set), the
 * addition finds the set full once more (see {@link #get}). Bounded: the sets of the most recently used items.
 * Not thread-safe: used under the pipeline's lock.
 */
final class KnownSetMembers {

    private final Map<String, Set<String>> members;

    KnownSetMembers(int maxItems) {
        this.members = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Set<String>> eldest) {
                return size() > maxItems;
            }
        };
    }

    /** The set as read from DynamoDB. */
    void read(String item, Collection<String> read) {
        members.put(item, new LinkedHashSet<>(read));
    }

    void added(String item, Collection<String> values) {
        Set<String> known = members.get(item);
        if (known != null) {
            known.addAll(values);
        }
    }

    void removed(String item, Collection<String> values) {
        Set<String> known = members.get(item);
        if (known != null) {
            known.removeAll(values);
        }
    }

    /**
     * The known members. A trim from wrong knowledge removes fewer than it should; the set is found full again
     * and trimmed again from what is left, until the knowledge no longer explains a full set and it is read.
     */
    Optional<Set<String>> get(String item) {
        Set<String> known = members.get(item);
        return known == null ? Optional.empty() : Optional.of(new LinkedHashSet<>(known));
    }
}
