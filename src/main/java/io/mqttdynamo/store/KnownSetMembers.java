package io.mqttdynamo.store;

import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What the pipeline knows of the capped sets it writes (mqtt_topic_msg_map's {@code MsgId} and
 * {@code acked_first}): per item and attribute, the members it read when a set was last found full, plus its own
 * additions and removals since. A full set is then trimmed from this knowledge without reading it again; when the
 * knowledge is wrong (another replica added to the set), the addition finds the set full once more (see
 * {@link #get}). A change the pipeline does not follow member by member (a conditional update of the item) makes
 * it forget the item. Bounded: the sets of the most recently used items. Not thread-safe: used under the
 * pipeline's lock.
 */
final class KnownSetMembers {

    private final Map<String, Map<String, Set<String>>> members;

    KnownSetMembers(int maxItems) {
        this.members = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Map<String, Set<String>>> eldest) {
                return size() > maxItems;
            }
        };
    }

    /** The set as read from DynamoDB. */
    void read(String item, String attribute, Collection<String> read) {
        members.computeIfAbsent(item, i -> new HashMap<>(2)).put(attribute, new LinkedHashSet<>(read));
    }

    void added(String item, String attribute, Collection<String> values) {
        Set<String> known = known(item, attribute);
        if (known != null) {
            known.addAll(values);
        }
    }

    void removed(String item, String attribute, Collection<String> values) {
        Set<String> known = known(item, attribute);
        if (known != null) {
            known.removeAll(values);
        }
    }

    /** The item changed in a way not followed here: its sets are read again when next found full. */
    void forget(String item) {
        members.remove(item);
    }

    /**
     * The known members. A trim from wrong knowledge removes fewer than it should; the set is found full again
     * and trimmed again from what is left, until the knowledge no longer explains a full set and it is read.
     */
    Optional<Set<String>> get(String item, String attribute) {
        Set<String> known = known(item, attribute);
        return known == null ? Optional.empty() : Optional.of(new LinkedHashSet<>(known));
    }

    private Set<String> known(String item, String attribute) {
        Map<String, Set<String>> sets = members.get(item);
        return sets == null ? null : sets.get(attribute);
    }
}
