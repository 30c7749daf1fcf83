# seeds/003, 2.6 进行预测: the two plotting helpers and the 5x3 grid, as written
# Given by the test: predictions (N, 10) probabilities, test_labels (N,), test_images (N, 28, 28).
import matplotlib.pyplot as plt
def plot_image (i, predictions_array, true_label, img ):
    predictions_array, true_label, img = predictions_array, true_label[i], img[i]
    plt.grid(False )
    plt.xticks([])
    plt.yticks([])
    plt.imshow(img, cmap=plt.cm.binary)
    predicted_label = np.argmax(predictions_array)
    if predicted_label == true_label:
        color = 'blue'
    else :
        color = 'red'
    # CHANGED: the seed's `:2.0 f` (a space the web page put into `:2.0f`) is not a valid format spec:
    # as written this line raises ValueError: Invalid format specifier. The space is removed.
    plt.xlabel(f"{predicted_label} {100 *np.max (predictions_array):2.0f} % ({true_label} )" , color=color)
def plot_value_array (i, predictions_array, true_label ):
    predictions_array, true_label = predictions_array, true_label[i]
    plt.grid(False )
    plt.xticks(range (10 ))
    plt.yticks([])
    thisplot = plt.bar(range (10 ), predictions_array, color="#777777" )
    plt.ylim([0 , 1 ])
    predicted_label = np.argmax(predictions_array)
    thisplot[predicted_label].set_color('red' )
    thisplot[true_label].set_color('blue' )
num_rows = 5
num_cols = 3
num_images = num_rows * num_cols
plt.figure(figsize=(2 * 2 * num_cols, 2 * num_rows))
for i in range (num_images):
    plt.subplot(num_rows, 2 * num_cols, 2 * i + 1 )
    plot_image(i, predictions[i], test_labels, test_images)
    plt.subplot(num_rows, 2 * num_cols, 2 * i + 2 )
    plot_value_array(i, predictions[i], test_labels)
plt.tight_layout()
plt.show()
