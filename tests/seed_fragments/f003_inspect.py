# seeds/003, 2.1 准备数据: look inside the MNIST .npz, save 10 samples and extract 20 images
import numpy as np
import os
import matplotlib.pyplot as plt
mnist_path = os.path.expanduser('~/.keras/datasets/mnist.npz' )
# CHANGED: `data = np.load(mnist_path)` becomes the test's `data`: there is no Keras cache (and no
# download) here. The test builds the same four arrays from the original IDX files in $TUJIE_DATA.
print ("MNIST 数据集包含以下数组:" )
print (data.files)
x_train = data['x_train' ]
y_train = data['y_train' ]
x_test = data['x_test' ]
y_test = data['y_test' ]
print (f"\n训练图像: {x_train.shape} , 类型: {x_train.dtype} " )
print (f"训练标签: {y_train.shape} , 类型: {y_train.dtype} " )
print (f"测试图像: {x_test.shape} , 类型: {x_test.dtype} " )
print (f"测试标签: {y_test.shape} , 类型: {y_test.dtype} " )
plt.rcParams['font.family' ] = 'SimSong'
plt.figure(figsize=(10 , 5 ))
for i in range (10 ):
    plt.subplot(2 , 5 , i + 1 )
    plt.imshow(x_train[i], cmap='gray' )
    plt.title(f"标签: {y_train[i]} " )
    plt.axis('off' )
plt.tight_layout()
plt.savefig('mnist_samples.png' )
print ("\n已保存10张示例图像到 mnist_samples.png" )
output_dir = 'mnist_extracted'
if not os.path.exists(output_dir):
    os.makedirs(output_dir)
for i in range (20 ):
    # CHANGED: as written, f"{output_dir} /train_{i} _label_{y_train[i]} .png" (spaces the web page
    # inserted) names a folder "mnist_extracted " that does not exist: FileNotFoundError. Spaces removed.
    img_path = f"{output_dir}/train_{i}_label_{y_train[i]}.png"
    plt.imsave(img_path, x_train[i], cmap='gray' )
print (f"\n已提取20张训练图像到 {output_dir} 目录" )
